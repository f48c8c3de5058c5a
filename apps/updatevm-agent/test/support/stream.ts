import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { execa } from 'execa';
import {
  decodeUpdateStream,
  DEFAULT_UPDATE_LIMITS,
  encodeReply,
  encodeStateSync,
  isMemberName,
  PROTOCOL_VERSION,
  type MemberName,
  type UpdateRequest,
} from '@dom0-updates/protocol';
import type { FixturePackage, FixtureSet } from '@dom0-updates/fixtures';

/** Members of a captured update stream, decoded with the protocol's strict decoder: name -> sha256. */
export async function decodeCaptured(path: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const member of decodeUpdateStream(createReadStream(path), DEFAULT_UPDATE_LIMITS)) {
    const hash = createHash('sha256');
    for await (const chunk of member.body) hash.update(chunk);
    out.set(member.name, hash.digest('hex'));
  }
  return out;
}

/** Member names as GNU tar lists them (`tar -tvf`), with the type letter of each. */
export async function gnuTarList(path: string): Promise<{ type: string; name: string }[]> {
  const { stdout } = await execa('tar', ['-tvf', path]);
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => ({ type: l.charAt(0), name: l.split(/\s+/).pop() ?? '' }));
}

export async function sha256File(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

function memberName(name: string): MemberName {
  if (!isMemberName(name)) throw new Error(`fixture file name ${name} breaks the member name rule`);
  return name;
}

/** The reply dom0 would give after accepting `packages` (built with the protocol's encoder). */
export async function acceptedReply(fixtures: FixtureSet, packages: readonly FixturePackage[]): Promise<string> {
  const entries = await Promise.all(
    packages.map(async (p) => ({
      file: memberName(p.fileName),
      nevra: p.nevra,
      sha256: await sha256File(p.path),
      signer: fixtures.keys[p.signer ?? 'trusted-rsa'].fingerprint.toLowerCase(),
    })),
  );
  const reply = encodeReply({ protocol: PROTOCOL_VERSION, status: 'accepted', packages: entries });
  return Buffer.from(reply).toString('utf8').trim();
}

/** dom0's reply refusing the batch: because of `member`, or as a whole when it is undefined. */
export function rejectedReply(code: string, member: string | undefined, message: string): string {
  const error = member === undefined ? { code, message } : { code, member, message };
  return Buffer.from(encodeReply({ protocol: PROTOCOL_VERSION, status: 'rejected', packages: [], error }))
    .toString('utf8')
    .trim();
}

/** dom0's state-sync stream made with the protocol's own encoder: `request` (over an upgrade) and `files`. */
export async function encodeState(request: Partial<UpdateRequest>, files: readonly { name: string; bytes: Uint8Array }[]): Promise<Buffer> {
  const full: UpdateRequest = {
    protocol: PROTOCOL_VERSION,
    action: 'upgrade',
    packages: [],
    enableRepos: [],
    disableRepos: [],
    clean: false,
    dnfOptions: [],
    ...request,
  };
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await encodeStateSync(full, files.map((f) => ({ name: f.name, size: f.bytes.length, body: [f.bytes] })), out);
  return Buffer.concat(chunks);
}
