import { describe, expect, it } from 'vitest';
import { parseMaxFiles, parsePositiveInteger } from '../src/cli/args.ts';

describe('numeric flags', () => {
  it('takes a positive decimal integer', () => {
    expect(parsePositiveInteger('4096', '--max-files')).toBe(4096);
    expect(parsePositiveInteger(String(Number.MAX_SAFE_INTEGER), '--max-bytes')).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('says a decimal integer beyond the safe range is too large, not malformed', () => {
    expect(() => parsePositiveInteger('9223372036854775808', '--max-bytes')).toThrow(
      '--max-bytes is too large (at most 9007199254740991): "9223372036854775808"',
    );
  });

  it('refuses zero, signs, leading zeros and other text as not a positive decimal integer', () => {
    for (const text of ['0', '-1', '+1', '012', '1e9', '12x', ' 1', '']) {
      expect(() => parsePositiveInteger(text, '--max-files')).toThrow('--max-files must be a positive decimal integer');
    }
  });

  it('takes a file limit up to 4096, the most packages a reply can name, and no more', () => {
    expect(parseMaxFiles('1', '--max-files')).toBe(1);
    expect(parseMaxFiles('4096', '--max-files')).toBe(4096);
    expect(() => parseMaxFiles('4097', '--max-files')).toThrow('--max-files is more than 4096, the most packages a reply can name: "4097"');
    expect(() => parseMaxFiles('0', '--max-files')).toThrow('--max-files must be a positive decimal integer');
  });
});
