// deploy/qubes/qubes.ReceiveUpdates reads dom0's config file in shell (awk). It must read every
// file exactly as dom0-update does (parseConfigText), or the receiver gets a different UpdateVM
// name or keyring than the one configured: `UPDATEVM='sys-net'` once became `'sys-net'` with the
// quotes. The script runs for real with a stand-in `node` that prints the receiver's argv.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_KEYS, ConfigError, parseConfigText, resolveConfig, type ConfigKey } from '@dom0-updates/dom0-cli';
import { REPO_ROOT } from '../src/paths.ts';

const SERVICE = join(REPO_ROOT, 'deploy/qubes/qubes.ReceiveUpdates');
const work = mkdtempSync(join(tmpdir(), 'receive-updates-service-'));
const bin = join(work, 'bin');
mkdirSync(bin);
writeFileSync(join(bin, 'node'), '#!/bin/sh\nprintf "%s\\n" "$@"\n');
writeFileSync(join(bin, 'qubes-prefs'), '#!/bin/sh\necho sys-default\n');
chmodSync(join(bin, 'node'), 0o755);
chmodSync(join(bin, 'qubes-prefs'), 0o755);
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

let configs = 0;
async function service(text: string, cwd = work): Promise<{ exitCode: number; args: string[]; stderr: string; file: string }> {
  configs += 1;
  const file = join(work, `config-${String(configs)}`);
  writeFileSync(file, text);
  const r = await execa(SERVICE, [], {
    cwd,
    env: { PATH: `${bin}:/usr/bin:/bin`, DOM0_UPDATES_CONFIG: file },
    extendEnv: false,
    reject: false,
    stripFinalNewline: false,
  });
  const args = r.stdout === '' ? [] : r.stdout.slice(0, -1).split('\n');
  return { exitCode: r.exitCode ?? -1, args, stderr: r.stderr, file };
}

/** The keys whose values the service passes to the receiver and checks as dom0-update does. */
const CHECKED: readonly ConfigKey[] = ['UPDATEVM', 'UPDATES_DIR', 'KEYRING', 'MAX_FILES', 'MAX_BYTES', 'TIMEOUT'];

/** Whether dom0-update refuses one of those values (a relative path, a number that is not one). */
function refusesValues(settings: Partial<Record<ConfigKey, string[]>>): boolean {
  const checked = Object.fromEntries(Object.entries(settings).filter(([key]) => CHECKED.includes(key as ConfigKey)));
  try {
    resolveConfig([{ origin: 'file', settings: checked }]);
    return false;
  } catch (error) {
    if (error instanceof ConfigError) return true;
    throw error;
  }
}

/** The receiver's argv the service should build from what dom0-update's parser read. */
function expectedArgs(settings: Partial<Record<ConfigKey, string[]>>): string[] | undefined {
  const last = (key: ConfigKey): string => settings[key]?.at(-1) ?? '';
  const keys = (settings.KEYRING ?? []).filter((k) => k !== '');
  if (keys.length === 0) return undefined;
  return [
    '/usr/lib/dom0-updates/dom0-receiver.mjs',
    'receive',
    '--sandbox', 'bwrap',
    '--updates-dir', last('UPDATES_DIR') || '/var/lib/qubes/updates',
    '--max-files', last('MAX_FILES') || '4096',
    '--timeout', last('TIMEOUT') || '3600',
    '--updatevm', last('UPDATEVM') || 'sys-default',
    ...(last('MAX_BYTES') === '' ? [] : ['--max-bytes', last('MAX_BYTES')]),
    ...keys.flatMap((k) => ['--keyring', k]),
  ];
}

describe('qubes.ReceiveUpdates reads the config file as dom0-update does', () => {
  it('strips both quote styles and skips comments and surrounding spaces', async () => {
    const r = await service(
      [
        '# a comment',
        "   # an indented comment with 'quotes' and = signs",
        "UPDATEVM = 'sys-net'",
        '\tUPDATES_DIR="/var/lib/qubes/updates two"  ',
        "KEYRING='/etc/pki/rpm-gpg/key one'",
        'KEYRING = "/etc/pki/rpm-gpg/key-two"\r',
        'KEYRING=/etc/pki/rpm-gpg/key-three',
        "MAX_FILES='9'",
        'TIMEOUT= "60" ',
        "MAX_BYTES='77'",
        '',
      ].join('\n'),
    );
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.args).toEqual([
      '/usr/lib/dom0-updates/dom0-receiver.mjs', 'receive', '--sandbox', 'bwrap',
      '--updates-dir', '/var/lib/qubes/updates two',
      '--max-files', '9',
      '--timeout', '60',
      '--updatevm', 'sys-net',
      '--max-bytes', '77',
      '--keyring', '/etc/pki/rpm-gpg/key one',
      '--keyring', '/etc/pki/rpm-gpg/key-two',
      '--keyring', '/etc/pki/rpm-gpg/key-three',
    ]);
  });

  it.each([
    ['mismatched quotes, which stay', `UPDATEVM = "sys-net'`, `"sys-net'`],
    ['a comment after the value', 'UPDATEVM=sys-net # mine', 'sys-net # mine'],
    ['a shell metacharacter', 'UPDATEVM=sys;rm', 'sys;rm'],
    ['32 characters', `UPDATEVM=${'s'.repeat(32)}`, 's'.repeat(32)],
  ])('refuses an UPDATEVM that is no qube name (%s) as the config\'s fault, as dom0-update does', async (_what, line, shown) => {
    expect(() => resolveConfig([{ origin: 'file', settings: parseConfigText(`${line}\nKEYRING=/k\n`, 'f') }])).toThrow(ConfigError);
    const r = await service(`${line}\nKEYRING=/k\n`);
    expect(r.exitCode).toBe(1);
    expect(r.args).toEqual([]);
    expect(r.stderr).toContain(`UPDATEVM: "${shown}" is not a qube name`);
    expect(r.stderr).toContain('refusing to receive');
  });

  it('takes a 31-character qube name', async () => {
    const r = await service(`UPDATEVM=${'s'.repeat(31)}\nKEYRING=/k\n`);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.args).toContain('s'.repeat(31));
  });

  it('says so in one line when node is not in its PATH, and runs nothing', async () => {
    const file = join(work, 'config-no-node');
    writeFileSync(file, 'UPDATEVM=sys-net\nKEYRING=/k\n');
    // the tools the script uses, and no node
    const tools = join(work, 'tools-without-node');
    mkdirSync(tools, { recursive: true });
    for (const tool of ['awk', 'grep', 'tail', 'tr']) symlinkSync(`/usr/bin/${tool}`, join(tools, tool));
    const r = await execa(SERVICE, [], { env: { PATH: tools, DOM0_UPDATES_CONFIG: file }, extendEnv: false, reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`qubes.ReceiveUpdates: node is not in this service's PATH (${tools}); install Node 20.12 or later for the user qrexec runs services as; refusing to receive`);
  });

  it('knows the same keys as dom0-update', () => {
    const line = /^CONF_KEYS='([^']*)'$/m.exec(readFileSync(SERVICE, 'utf8'));
    expect(line?.[1]?.split(' ')).toEqual([...CONFIG_KEYS]);
  });

  it.each([
    ['a line without "="', 'UPDATEVM=sys-net\nKEYRING=/k\nUPDATEVM sys-net\n', 3, /expected KEY=value/],
    ['an unknown key', 'KEYRING=/k\nUPDATE_VM=sys-net\n', 2, /unknown key "UPDATE_VM"/],
    ['a key set twice', "UPDATEVM=sys-net\nKEYRING=/k\nUPDATEVM='sys-net'\n", 3, /UPDATEVM is set twice/],
  ])('refuses %s, naming the line, and runs no receiver', async (_what, text, line, message) => {
    expect(() => parseConfigText(text, 'f')).toThrow(ConfigError);
    const r = await service(text);
    expect(r.exitCode).toBe(1);
    expect(r.args).toEqual([]);
    expect(r.stderr).toContain(`${r.file}:${String(line)}:`);
    expect(r.stderr).toMatch(message);
  });

  it('passes a key path with glob characters as written, not expanded', async () => {
    const dir = join(work, 'glob');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a.asc'), '');
    writeFileSync(join(dir, 'b.asc'), '');
    const r = await service(`KEYRING=${dir}/*.asc\n`, dir);
    expect(r.args.slice(-2)).toEqual(['--keyring', `${dir}/*.asc`]);
  });

  it('agrees with dom0-update on generated configs (whitespace, quotes, comments, CRLF, bad lines)', async () => {
    const pick = <T>(...values: T[]) => fc.constantFrom(...values);
    // What trim() removes, ASCII and Unicode, and a few that it keeps (U+180E, U+200B).
    const space = pick(' ', '\t', '\v', '\f', '\r', '\u00a0', '\u1680', '\u2005', '\u2028', '\u202f', '\u3000', '\ufeff', '\u180e', '\u200b');
    const spaces = fc.array(space, { maxLength: 3 }).map((a) => a.join(''));
    const char = fc.oneof(pick('a', 'Z', '/', '-', '.', '1', ' ', '\t', '=', '#', '*', '$', '`', '\\', 'é', '\u00a0', '\r'), pick('"', "'"));
    const word = fc.array(char, { maxLength: 8 }).map((a) => a.join(''));
    const value = fc.oneof(word, word.map((w) => `"${w}"`), word.map((w) => `'${w}'`), word.map((w) => `"${w}'`));
    const key = pick('UPDATEVM', 'UPDATES_DIR', 'KEYRING', 'KEYRING', 'MAX_FILES', 'MAX_BYTES', 'TIMEOUT', 'TRANSPORT', 'LOCK_FILE', 'updatevm', 'BOGUS');
    const entry = fc.tuple(spaces, key, spaces, spaces, value, spaces).map(([a, k, b, c, v, d]) => `${a}${k}${b}=${c}${v}${d}`);
    const comment = fc.tuple(spaces, word).map(([s, w]) => `${s}#${w}`);
    const bad = fc.oneof(word.map((w) => `=${w}`), word.filter((w) => !w.includes('=')));
    const line = fc.oneof(
      { weight: 10, arbitrary: entry },
      { weight: 2, arbitrary: comment },
      { weight: 2, arbitrary: spaces },
      { weight: 1, arbitrary: bad },
    );
    const text = fc
      .tuple(fc.array(line, { maxLength: 7 }), fc.boolean(), fc.boolean(), fc.boolean())
      .map(([lines, crlf, finalNewline, keyring]) => {
        const all = keyring ? ['KEYRING=/etc/pki/k', ...lines] : lines;
        return all.join(crlf ? '\r\n' : '\n') + (finalNewline ? '\n' : '');
      });
    await fc.assert(
      fc.asyncProperty(text, async (config) => {
        const r = await service(config);
        let settings: Partial<Record<ConfigKey, string[]>>;
        try {
          settings = parseConfigText(config, 'f');
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          const line = /^f:(\d+):/.exec(error.message)?.[1];
          expect(r.exitCode).toBe(1);
          expect(r.args).toEqual([]);
          expect(r.stderr).toContain(`${r.file}:${line ?? '?'}:`);
          return;
        }
        if (refusesValues(settings)) {
          expect(r.exitCode).toBe(1);
          expect(r.args).toEqual([]);
          expect(r.stderr).toContain('refusing to receive');
          return;
        }
        const expected = expectedArgs(settings);
        if (expected === undefined) {
          expect(r.exitCode).toBe(1);
          expect(r.stderr).toContain('no KEYRING');
        } else {
          expect(r.stderr).toBe('');
          expect(r.args).toEqual(expected);
        }
      }),
      { numRuns: 150 },
    );
  }, 120_000);
});
