import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

/**
 * Every code the receiver's source names: quoted UPPER_SNAKE strings, less environment variable
 * names and the list in reply.ts of other packages' codes whose reason stays in dom0.
 */
function namedCodes(): string[] {
  const codes = new Set<string>();
  for (const file of readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts')) continue;
    const text = readFileSync(join(root, 'src', file), 'utf8')
      .split('\n')
      .filter((line) => !line.startsWith('const DOM0_INTERNAL'))
      .join('\n');
    for (const match of text.matchAll(/'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'/g)) {
      const code = match[1] ?? '';
      if (!/^(?:DOM0_|QREXEC_|UPDATES_MAX_)/.test(code)) codes.add(code);
    }
  }
  return [...codes].sort();
}

describe('the README', () => {
  it('lists every failure code the receiver raises itself, and no other', () => {
    const codes = namedCodes();
    expect(codes).toContain('STAGE_IO');
    expect(codes).toContain('RECEIVE_INTERRUPTED');
    expect(codes.length).toBeGreaterThan(15);
    const section = readFileSync(join(root, 'README.md'), 'utf8').split('### Failure codes')[1]?.split('\n## ')[0] ?? '';
    const documented = [...section.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((row) => row[1]);
    // USAGE (no underscore) escapes the pattern above; it is the usage errors' code
    expect(documented.filter((c) => c !== 'USAGE').sort()).toEqual(codes);
    expect(documented).toContain('USAGE');
  });
});
