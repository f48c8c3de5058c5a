/** Test-only: splits a real package into its parts and puts modified parts back together. */
import { readFileSync } from 'node:fs';
import { buildHeader, readEntries, type RawEntry } from './header-builder.ts';

export interface PackageParts {
  bytes: Buffer;
  lead: Buffer;
  sigHeader: Buffer;
  pad: Buffer;
  mainHeader: Buffer;
  payload: Buffer;
  /** file offsets */
  sigStart: number;
  mainStart: number;
  payloadStart: number;
}

function headerLength(b: Buffer, at: number): number {
  return 16 + b.readUInt32BE(at + 8) * 16 + b.readUInt32BE(at + 12);
}

export function splitPackage(source: string | Buffer): PackageParts {
  const bytes = typeof source === 'string' ? readFileSync(source) : source;
  const sigStart = 96;
  const sigEnd = sigStart + headerLength(bytes, sigStart);
  const mainStart = sigEnd + ((8 - (bytes.readUInt32BE(sigStart + 12) % 8)) % 8);
  const payloadStart = mainStart + headerLength(bytes, mainStart);
  return {
    bytes,
    lead: bytes.subarray(0, 96),
    sigHeader: bytes.subarray(sigStart, sigEnd),
    pad: bytes.subarray(sigEnd, mainStart),
    mainHeader: bytes.subarray(mainStart, payloadStart),
    payload: bytes.subarray(payloadStart),
    sigStart,
    mainStart,
    payloadStart,
  };
}

/** Rebuilds with edited entry lists; SIZE (1000) is fixed up unless keepSize. */
export function rebuild(
  parts: PackageParts,
  edit: { sig?: (entries: RawEntry[]) => RawEntry[]; main?: (entries: RawEntry[]) => RawEntry[]; keepSize?: boolean },
): Buffer {
  const mainHeader = edit.main ? Buffer.from(buildHeader('main', edit.main(readEntries(parts.mainHeader, 'main')))) : parts.mainHeader;
  let sigEntries = readEntries(parts.sigHeader, 'signature');
  if (edit.sig) sigEntries = edit.sig(sigEntries);
  if (edit.keepSize !== true) {
    sigEntries = sigEntries.map((e) => {
      if (e.tag !== 1000) return e;
      const data = Buffer.alloc(4);
      data.writeUInt32BE(mainHeader.length + parts.payload.length);
      return { ...e, data };
    });
  }
  const sigHeader = Buffer.from(buildHeader('signature', sigEntries));
  const pad = Buffer.alloc((8 - ((sigHeader.length - 16 - sigEntries.length * 16 - 16) % 8)) % 8);
  return Buffer.concat([parts.lead, sigHeader, pad, mainHeader, parts.payload]);
}
