import { createHash } from 'node:crypto';
import { concatBytes } from '../tar/bytes.ts';
import { cString, int32s, itemsOf, joinRpm, layoutHeader, type RpmParts } from './package.ts';

/**
 * A package whose main header was changed, with a signature header that rpmsign accepts for
 * re-signing: no signature, and the digests (SHA1/SHA256 header, MD5, SIZE) recomputed over the
 * new bytes. Signing that with a pinned key gives a validly signed package whose only fault is
 * the change itself, so the verifier's structural rule is what must catch it.
 */
export function withFreshDigests(parts: RpmParts, main: Uint8Array, payload: Uint8Array = parts.payload): Uint8Array {
  const hex = (algo: string, data: Uint8Array): Uint8Array => cString(createHash(algo).update(data).digest('hex'));
  const items = itemsOf(parts.sig)
    .filter((i) => i.tag !== 267 && i.tag !== 268 && i.tag !== 1002 && i.tag !== 1005)
    .map((i) => {
      if (i.tag === 269) return { ...i, value: hex('sha1', main) };
      if (i.tag === 273) return { ...i, value: hex('sha256', main) };
      if (i.tag === 1000) return { ...i, value: int32s([main.length + payload.length]) };
      if (i.tag === 1004) return { ...i, value: new Uint8Array(createHash('md5').update(concatBytes([main, payload])).digest()) };
      return i;
    });
  return joinRpm({ lead: parts.lead, sig: layoutHeader(62, items), main, payload });
}
