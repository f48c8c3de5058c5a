// A deliberately permissive ustar writer for hostile senders: it writes whatever it is told,
// including names, types and sizes that the protocol forbids.
export interface RawHeader {
  name: string;
  size: number;
  /** ustar type flag, '0' for a regular file. */
  type?: string;
  linkname?: string;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

export function rawHeader(h: RawHeader): Buffer {
  const block = Buffer.alloc(512);
  block.write(h.name, 0, 100, 'utf8');
  block.write(octal(0o644, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii');
  block.write(octal(0, 8), 116, 'ascii');
  block.write(octal(h.size, 12), 124, 'ascii');
  block.write(octal(0, 12), 136, 'ascii');
  block.write(h.type ?? '0', 156, 'ascii');
  block.write(h.linkname ?? '', 157, 100, 'utf8');
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(octal(sum, 7) + ' ', 148, 'ascii');
  return block;
}

export function padding(size: number): Buffer {
  return Buffer.alloc((512 - (size % 512)) % 512);
}

export function endOfArchive(): Buffer {
  return Buffer.alloc(1024);
}

/** One regular member with its body and padding. */
export function rawMember(name: string, body: Buffer): Buffer {
  return Buffer.concat([rawHeader({ name, size: body.length }), body, padding(body.length)]);
}
