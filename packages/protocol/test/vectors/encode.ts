import { encodeStateSync, encodeUpdateStream } from '../../src/index.ts';
import { Capture } from '../helpers.ts';
import { STATE_VECTOR, type VectorMember } from './definitions.ts';

export async function encodeUpdateVector(members: readonly VectorMember[]): Promise<Uint8Array> {
  const out = new Capture();
  await encodeUpdateStream(members.map((m) => ({ name: m.name, size: m.bytes.length, body: [m.bytes] })), out);
  return out.bytes;
}

export async function encodeStateVector(): Promise<Uint8Array> {
  const out = new Capture();
  await encodeStateSync(STATE_VECTOR.request, STATE_VECTOR.files.map((f) => ({ name: f.name, size: f.bytes.length, body: [f.bytes] })), out);
  return out.bytes;
}
