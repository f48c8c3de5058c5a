import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENCODE_ERROR_CODES } from '@dom0-updates/protocol';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

/** Codes the agent raises: literals in error constructors, and the codes its entry point prints. */
function raisedCodes(): string[] {
  const codes = new Set<string>();
  for (const file of readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts')) continue;
    const text = readFileSync(join(root, 'src', file), 'utf8');
    // every literal that looks like a code, except those only compared with another module's
    for (const match of text.matchAll(/(?<!=== |!== )'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|INTERNAL|INTERRUPTED)'/g)) codes.add(match[1] ?? '');
    for (const match of text.matchAll(/\[([A-Z][A-Z0-9_]+)\]\\n/g)) codes.add(match[1] ?? '');
  }
  // the encoder's codes pass through by variable (transport/send.ts); dom0's stream end and its
  // request are not the agent's to encode
  for (const code of ENCODE_ERROR_CODES) if (code !== 'ENCODE_OUTPUT_CLOSED' && code !== 'ENCODE_BAD_REQUEST') codes.add(code);
  return [...codes].sort();
}

describe('the README', () => {
  it('lists every failure code the agent can print, and no other', () => {
    const codes = raisedCodes();
    expect(codes).toEqual(expect.arrayContaining(['DISK_FULL', 'TRANSPORT_FAILED', 'OUTPUT_FAILED', 'INTERNAL', 'INTERRUPTED']));
    const section = readFileSync(join(root, 'README.md'), 'utf8').split('### Failure codes')[1]?.split('\n## ')[0] ?? '';
    const documented = [...section.matchAll(/^\| ([^|]+) \|/gm)].flatMap((row) => [...(row[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]));
    expect(documented.sort()).toEqual(codes);
  });
});
