import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { expectedTagType } from '../src/header/tag-types.ts';
import { HeaderType } from '../src/header/types.ts';

const RPM_TYPE_NAMES: Readonly<Record<string, number>> = {
  char: HeaderType.CHAR,
  int8: HeaderType.INT8,
  int16: HeaderType.INT16,
  int32: HeaderType.INT32,
  int64: HeaderType.INT64,
  string: HeaderType.STRING,
  blob: HeaderType.BIN,
  argv: HeaderType.STRING_ARRAY,
  i18nstring: HeaderType.I18NSTRING,
};

describe('the main-header tag type table', () => {
  it('gives every tag the installed rpm knows (100 and 1000 up) the type rpm gives it', () => {
    const lines = execFileSync('rpm', ['-v', '--querytags'], { encoding: 'utf8' }).trim().split('\n');
    const known = new Map<number, number>();
    for (const line of lines) {
      const [, number, type] = line.trim().split(/\s+/);
      const tag = Number(number);
      if (type === undefined || !(tag === 100 || tag >= 1000)) continue;
      const code = RPM_TYPE_NAMES[type];
      if (code === undefined) throw new Error(`rpm names a type this test does not know: ${line}`);
      known.set(tag, code);
    }
    expect(known.size).toBeGreaterThan(200);
    const ours = [...known.keys()].map((tag) => [tag, expectedTagType(tag)]);
    expect(ours).toEqual([...known.entries()]);
    // and nothing rpm does not know
    for (let tag = 1000; tag < 6000; tag += 1) if (!known.has(tag)) expect([tag, expectedTagType(tag)]).toEqual([tag, undefined]);
  });
});
