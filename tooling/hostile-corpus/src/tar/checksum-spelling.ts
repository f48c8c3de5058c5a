import { concatBytes, type ByteInput } from './bytes.ts';
import { headerSum, padding, ustarHeader, type HeaderFields } from './header.ts';

type Fields = Partial<HeaderFields> & Pick<HeaderFields, 'name' | 'size'>;

/**
 * A header whose chksum field holds the real unsigned sum in a spelling the caller picks (eight
 * digits with no terminator, a leading space, decimal, ...): the sum is right, only its spelling
 * is under test. The chksum bytes never count towards the sum, so any spelling keeps it valid.
 */
export function headerWithChecksum(fields: Fields, spell: (sum: number) => ByteInput): Uint8Array {
  const sum = headerSum(ustarHeader(fields), false);
  return ustarHeader({ ...fields, chksum: spell(sum) });
}

/** Header (with its checksum spelled by `spell`), body and zero padding of one member. */
export function memberWithChecksum(name: ByteInput, body: Uint8Array, spell: (sum: number) => ByteInput, header: Partial<HeaderFields> = {}): Uint8Array {
  return concatBytes([headerWithChecksum({ name, size: body.length, ...header }, spell), body, padding(body.length)]);
}
