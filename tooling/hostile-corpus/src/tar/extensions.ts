import { concatBytes, toBytes } from './bytes.ts';
import { member, type MemberOptions } from './header.ts';

/**
 * One pax record, `"<len> <key>=<value>\n"`, where len counts the whole record including its
 * own digits (the self-referential length is found by iteration).
 */
export function paxRecord(key: string, value: string | Uint8Array): Uint8Array {
  const body = concatBytes([toBytes(` ${key}=`), toBytes(value), toBytes('\n')]);
  let digits = 1;
  while (String(body.length + digits).length !== digits) digits += 1;
  return concatBytes([toBytes(String(body.length + digits)), body]);
}

/** A pax extended header member (`x`, or `g` for global) carrying the given records. */
export function paxHeader(records: readonly Uint8Array[], options: { global?: boolean; header?: MemberOptions['header'] } = {}): Uint8Array {
  const body = concatBytes(records);
  return member(options.global === true ? 'pax_global_header' : 'PaxHeaders.0/x.rpm', body, {
    header: { typeflag: options.global === true ? 'g' : 'x', ...options.header },
  });
}

/** A GNU long-name (`L`) or long-link (`K`) member, with GNU's magic unless told otherwise. */
export function gnuLongMember(kind: 'L' | 'K', longName: string, options: { ustarMagic?: boolean } = {}): Uint8Array {
  const body = concatBytes([toBytes(longName), new Uint8Array(1)]);
  const magic = options.ustarMagic === true ? {} : { magic: 'ustar ', version: ' \0' };
  return member('././@LongLink', body, { header: { typeflag: kind, ...magic } });
}
