import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const read = (file: string): string => readFileSync(join(root, file), 'utf8');

describe('the README', () => {
  it('lists every error code the verifier can throw, and no other', () => {
    const union = /export type RpmErrorCode =([^;]*);/.exec(read('src/errors.ts'))?.[1] ?? '';
    const codes = [...union.matchAll(/'([A-Z0-9_]+)'/g)].map((m) => m[1]);
    expect(codes.length).toBeGreaterThan(40);
    const section = read('README.md').split('## Error codes')[1]?.split('\n## ')[0] ?? '';
    const documented = [...section.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...codes].sort());
  });
});
