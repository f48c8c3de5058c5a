import { describe, expect, it } from 'vitest';
import { sanitizeLines } from '../src/text.ts';

// Node's report of a missing bundle: the error's own line is the third of eleven
const MISSING_MODULE = [
  'node:internal/modules/cjs/loader:1228',
  '  throw err;',
  '  ^',
  '',
  "Error: Cannot find module '/usr/lib/dom0-updates/dom0-receiver.mjs'",
  '    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15)',
  '    at Module._load (node:internal/modules/cjs/loader:1051:27)',
  '    at Function.executeUserEntryPoint [as runMain] (node:internal/modules/run_main:174:12)',
  '    at node:internal/main/run_main_module:28:49 {',
  "  code: 'MODULE_NOT_FOUND',",
  '  requireStack: []',
  '}',
  '',
  'Node.js v20.20.0',
].join('\n');

describe('sanitizeLines', () => {
  it('keeps the first error line of a stack trace cut to its last lines, in place of the oldest kept', () => {
    const lines = sanitizeLines(MISSING_MODULE, 8).split('\n');
    expect(lines).toHaveLength(8);
    expect(lines[0]).toBe("  Error: Cannot find module '/usr/lib/dom0-updates/dom0-receiver.mjs'");
    expect(lines.at(-1)).toBe('  Node.js v20.20.0');
  });

  it('keeps a tool\'s "name: error:" line, and cuts nothing when all lines fit', () => {
    const text = ['qubes.ReceiveUpdates: error: x', ...Array.from({ length: 10 }, (_, i) => `line ${i}`)].join('\n');
    expect(sanitizeLines(text, 4).split('\n')).toEqual(['  qubes.ReceiveUpdates: error: x', '  line 7', '  line 8', '  line 9']);
    expect(sanitizeLines('a\nError: b\nc', 8)).toBe('  a\n  Error: b\n  c');
  });

  it('makes control characters and escapes in the kept lines printable', () => {
    expect(sanitizeLines('Error: \u001b[31mred\u001b[0m', 8)).not.toContain('\u001b');
  });
});
