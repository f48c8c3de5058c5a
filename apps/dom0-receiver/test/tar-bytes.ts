/** Hand-built tar bytes for stream attacks the well-behaved encoder refuses to produce. */
export interface RawHeader {
  name: string;
  size?: number;
  type?: string;
  linkname?: string;
  magic?: string;
  sizeField?: string;
  prefix?: string;
  badChecksum?: boolean;
}

function put(block: Uint8Array, offset: number, length: number, text: string): void {
  const bytes = Buffer.from(text, 'latin1');
  block.set(bytes.subarray(0, length), offset);
}

export function header(h: RawHeader): Uint8Array {
  const block = new Uint8Array(512);
  put(block, 0, 100, h.name);
  put(block, 100, 8, '0000644\0');
  put(block, 108, 8, '0000000\0');
  put(block, 116, 8, '0000000\0');
  put(block, 124, 12, h.sizeField ?? `${(h.size ?? 0).toString(8).padStart(11, '0')}\0`);
  put(block, 136, 12, '00000000000\0');
  put(block, 156, 1, h.type ?? '0');
  put(block, 157, 100, h.linkname ?? '');
  put(block, 257, 8, h.magic ?? 'ustar\u000000');
  put(block, 345, 155, h.prefix ?? '');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  if (h.badChecksum === true) sum += 1;
  put(block, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

export function body(bytes: Uint8Array): Uint8Array {
  const padded = new Uint8Array(Math.ceil(bytes.length / 512) * 512);
  padded.set(bytes);
  return padded;
}

export const END = new Uint8Array(1024);

export function tar(...parts: Uint8Array[]): Buffer {
  return Buffer.concat(parts);
}

/** One regular member with content, header + padded body. */
export function member(name: string, content: Uint8Array, extra: Partial<RawHeader> = {}): Uint8Array {
  return Buffer.concat([header({ name, size: content.length, ...extra }), body(content)]);
}
