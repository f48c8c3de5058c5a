/**
 * A deliberately permissive ustar writer for hostile test inputs: every field can be overridden,
 * the checksum is recomputed unless told otherwise. Never used by the package itself.
 */
export interface RawMember {
  readonly name?: string;
  readonly body?: Uint8Array;
  /** Raw header field overrides by field name (text is written as latin1 bytes, NUL padded). */
  readonly fields?: Partial<Record<FieldName, string | Uint8Array>>;
  /** Write this checksum text instead of the correct one. */
  readonly checksum?: string;
  /** Padding bytes after the body (default zeros). */
  readonly padding?: Uint8Array;
}

const LAYOUT = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  checksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
  pad: [500, 12],
} as const;
export type FieldName = keyof typeof LAYOUT;

function put(block: Uint8Array, field: FieldName, value: string | Uint8Array): void {
  const [offset, length] = LAYOUT[field];
  block.fill(0, offset, offset + length);
  const bytes = typeof value === 'string' ? Uint8Array.from(value, (c) => c.charCodeAt(0) & 0xff) : value;
  block.set(bytes.subarray(0, length), offset);
}

export function rawHeader(member: RawMember): Uint8Array {
  const block = new Uint8Array(512);
  const size = member.body?.length ?? 0;
  put(block, 'name', member.name ?? 'x.rpm');
  put(block, 'mode', '0000644\0');
  put(block, 'uid', '0000000\0');
  put(block, 'gid', '0000000\0');
  put(block, 'size', `${size.toString(8).padStart(11, '0')}\0`);
  put(block, 'mtime', '00000000000\0');
  put(block, 'typeflag', '0');
  put(block, 'magic', 'ustar\0');
  put(block, 'version', '00');
  put(block, 'devmajor', '0000000\0');
  put(block, 'devminor', '0000000\0');
  for (const [field, value] of Object.entries(member.fields ?? {})) put(block, field as FieldName, value);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  put(block, 'checksum', member.checksum ?? `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

export function memberBytes(member: RawMember): Uint8Array[] {
  const body = member.body ?? new Uint8Array(0);
  const pad = member.padding ?? new Uint8Array((512 - (body.length % 512)) % 512);
  return [rawHeader(member), body, pad];
}

/** Members, then `end` (default: two zero blocks). */
export function buildTar(members: readonly RawMember[], end: Uint8Array = new Uint8Array(1024)): Uint8Array {
  const parts = members.flatMap(memberBytes);
  parts.push(end);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
