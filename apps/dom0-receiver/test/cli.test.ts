import { describe, expect, it } from 'vitest';
import { signedVariant } from '@dom0-updates/fixtures';
import { BUNDLE, encodeStream, fileMember, getFixtures, keyringArgs, makeUpdatesDir, replyError, runReceiver } from './helpers.ts';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

describe('command line', () => {
  it.each([
    [[]],
    [['frobnicate']],
    [['receive', '--keyring', '/dev/null']],
    [['receive', '--updates-dir', '/tmp/x']],
    [['receive', '--updates-dir', '/tmp/x', '--updates-dir', '/tmp/y', '--keyring', 'k']],
    [['receive', '--updates-dir', '/tmp/x', '--keyring', 'k', '--max-files', '12x']],
    [['receive', '--updates-dir', '/tmp/x', '--keyring', 'k', '--max-bytes', '-5']],
    [['receive', '--updates-dir', '/tmp/x', '--keyring', 'k', '--bogus']],
    [['receive', '--updates-dir', '/tmp/x', '--keyring', 'k', '--sandbox', 'docker']],
    [['receive', '--updates-dir', '/tmp/x', '--keyring', 'k', '--timeout', '315360001']],
    [['receive', '--updates-dir', '/tmp/x', '--keyring', 'k', '--idle-timeout', '9007199254741']],
    [['receive', '--updates-dir', '/tmp/x', '--keyring', 'k', '--now', 'yesterday']],
    [['receive', '--updates-dir', '/tmp/x', '--keyring', 'k', 'extra-operand']],
    // Qubes names a qube in at most 31 characters
    [['receive', '--updates-dir', '/tmp/x', '--keyring', 'k', '--updatevm', `sys-${'x'.repeat(28)}`]],
    [['verify', '--keyring', 'k']],
    [['verify', 'a.rpm']],
    [['clean']],
    [['clean', '--updates-dir', '/tmp/x', 'extra']],
    [['clean', '--updates-dir', '/tmp/x', '--keyring', 'k']],
  ])('rejects the usage %j with exit 2 and a usage message', async (args) => {
    const run = await runReceiver(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('usage:');
    expect(run.stdout).toBe('');
  });

  it('rejects a bad UPDATES_MAX_FILES environment value as a usage error before reading', async () => {
    const dir = await makeUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], { env: { UPDATES_MAX_FILES: 'lots' } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('UPDATES_MAX_FILES');
    expect(await readdir(dir)).toEqual([]);
  });

  // the reply names every accepted package and holds at most 4096 (protocol §6): a larger limit
  // would let a sender get a batch published that the receiver could not answer
  it.each([
    [['--max-files', '4097'], {}, '--max-files is more than 4096, the most packages a reply can name'],
    [[], { UPDATES_MAX_FILES: '4097' }, 'UPDATES_MAX_FILES is more than 4096, the most packages a reply can name'],
  ])('refuses a file limit over what a reply can carry (%j %j) as a usage error before reading', async (flags, env, message) => {
    const dir = await makeUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs()), ...flags], { env, stdin: await encodeStream([]) });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stdout).toBe('');
    expect(await readdir(dir)).toEqual([]);
  });

  it('publishes a good batch under deadlines longer than a system timer can hold (over 24.8 days)', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    const stream = await encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path))));
    const run = await runReceiver(['receive', '--updates-dir', dir, '--timeout', '3000000', '--idle-timeout', '2500000', ...(await keyringArgs())], { stdin: stream });
    expect(run.stderr).not.toContain('TimeoutOverflowWarning');
    expect(run.code).toBe(0);
  });

  it.each([
    [['receive', '--help'], 'receive'],
    [['receive', '--updates-dir', '/tmp/x', '-h'], 'receive'],
    [['verify', '--help'], 'verify'],
    [['verify', '--keyring', 'k', '-h', 'a.rpm'], 'verify'],
    [['clean', '--help'], 'clean'],
    [['--help', 'receive'], 'receive'],
    [['help', 'clean'], 'clean'],
  ])('prints the usage of the command asked about with %j on stdout and exits 0', async (args, command) => {
    const run = await runReceiver(args);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(new RegExp(`^usage:\n  dom0-receiver ${command} --`));
    for (const other of ['receive', 'verify', 'clean'].filter((c) => c !== command)) expect(run.stdout).not.toContain(`dom0-receiver ${other}`);
  });

  it('shows only the usage of the command named after a usage error in it', async () => {
    const run = await runReceiver(['verify', 'a.rpm']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('usage:\n  dom0-receiver verify --keyring');
    expect(run.stderr).not.toContain('dom0-receiver receive');
    const unknown = await runReceiver(['frobnicate']);
    expect(unknown.stderr).toContain('dom0-receiver receive');
    expect(unknown.stderr).toContain('dom0-receiver verify');
  });

  it('refuses --help with anything but one command name', async () => {
    for (const args of [['--help', 'frobnicate'], ['-h', 'receive', 'verify']]) {
      const run = await runReceiver(args);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('takes at most one command name');
    }
  });

  it('names an unknown option given after --help', async () => {
    for (const [args, said] of [[['--help', '--bogus'], 'unknown option --bogus after --help'], [['-h', 'receive', '--x=1'], 'unknown option --x after -h']] as const) {
      const run = await runReceiver([...args]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`dom0-receiver: ${said}\n`);
    }
  });

  it('prints the whole usage with --help and -h and exits 0', async () => {
    for (const flag of ['--help', '-h']) {
      const run = await runReceiver([flag]);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^usage:\n  dom0-receiver receive [^]*\n  dom0-receiver verify [^]*\n  dom0-receiver clean --updates-dir DIR\n  dom0-receiver --help \| --version\n$/);
    }
  });

  it('still refuses an unknown option given with --help after a command', async () => {
    const run = await runReceiver(['receive', '--bogus', '--help']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown option --bogus');
  });

  it('prints its version with --version and exits 0', async () => {
    const run = await runReceiver(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^dom0-receiver \d+\.\d+\.\d+\n$/);
  });

  it('runs as the package\'s bin `dom0-receiver`, as the README says (npx inside the package)', () => {
    const out = execFileSync('npx', ['--no-install', 'dom0-receiver', '--version'], { cwd: join(import.meta.dirname, '..'), encoding: 'utf8' });
    expect(out).toMatch(/^dom0-receiver \d+\.\d+\.\d+\n$/);
  });

  it('fails verify when its verdicts cannot be written (a full disk), and says so', async () => {
    const f = await getFixtures();
    const out = openSync('/dev/full', 'w');
    const child = spawn(process.execPath, [BUNDLE, 'verify', ...(await keyringArgs()), f.packages.v1[0]?.path ?? ''], { stdio: ['ignore', out, 'pipe'] });
    closeSync(out);
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(code).toBe(1);
    expect(stderr).toContain('cannot write to standard output');
  });

  it('names a keyring file that holds no key by its path, with the code once', async () => {
    const f = await getFixtures();
    const pkg = f.packages.v1[0]?.path ?? '';
    const run = await runReceiver(['verify', '--keyring', '/etc/hostname', pkg]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('KEYRING_PARSE: key file /etc/hostname: ');
    expect(run.stderr).not.toContain('KEYRING_PARSE: KEYRING_PARSE');
  });

  it('says a keyring file holding an armored private key block is a private key, not stray text (KEYRING_PARSE)', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    const privateBlock = '-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxx\n-----END PGP PRIVATE KEY BLOCK-----\n';
    const alone = join(dir, 'private.asc');
    const mixed = join(dir, 'public-then-private.asc');
    await writeFile(alone, privateBlock);
    await writeFile(mixed, `${await readFile(f.trustedKeyPaths[0] ?? '', 'utf8')}${privateBlock}`);
    for (const key of [alone, mixed]) {
      const message = `KEYRING_PARSE: key file ${key}: an armored private key block, not a public key`;
      const verify = await runReceiver(['verify', '--keyring', key, f.packages.v1[0]?.path ?? '']);
      expect(verify.code).toBe(1);
      expect(verify.stderr).toContain(message);
      const receive = await runReceiver(['receive', '--updates-dir', dir, '--keyring', key], { stdin: await encodeStream([]) });
      expect(receive.code).toBe(1);
      expect(replyError(receive).code).toBe('KEYRING_PARSE');
      expect(receive.stderr).toContain(message);
    }
  });

  it("names PGP 2's armored SECRET KEY BLOCK as a private key too (KEYRING_PARSE)", async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    const secret = join(dir, 'secret.asc');
    await writeFile(secret, '-----BEGIN PGP SECRET KEY BLOCK-----\n\nxx\n-----END PGP SECRET KEY BLOCK-----\n');
    const verify = await runReceiver(['verify', '--keyring', secret, f.packages.v1[0]?.path ?? '']);
    expect(verify.code).toBe(1);
    expect(verify.stderr).toContain(`KEYRING_PARSE: key file ${secret}: an armored private key block, not a public key`);
  });

  it('fails with a clear code when a keyring file is unreadable', async () => {
    const dir = await makeUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, '--keyring', '/nonexistent/key.asc']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('KEYRING_UNREADABLE');
  });

  it('refuses a keyring that names a FIFO at once, where reading it would wait for a writer forever', async () => {
    const dir = await makeUpdatesDir();
    const fifo = join(dir, 'key.fifo');
    execFileSync('mkfifo', [fifo]);
    for (const args of [['receive', '--updates-dir', dir, '--keyring', fifo], ['verify', '--keyring', fifo, '/dev/null']]) {
      const run = await runReceiver(args, { stdin: await encodeStream([]) });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`KEYRING_UNREADABLE: keyring ${fifo} is not a regular file but a FIFO`);
    }
  });

  it('names an updates dir it cannot create as CONFIG_INVALID, with the reason', async () => {
    for (const [updatesDir, reason] of [
      ['/etc/hostname/updates', 'the updates dir /etc/hostname/updates cannot be used: cannot create it (a parent exists and is not a directory, ENOTDIR)'],
      ['/etc/hostname', 'the updates dir /etc/hostname cannot be used: cannot create it (it exists and is not a directory, EEXIST)'],
    ] as const) {
      const run = await runReceiver(['receive', '--updates-dir', updatesDir, ...(await keyringArgs())], { stdin: await encodeStream([]) });
      expect(run.code).toBe(1);
      expect(replyError(run).code).toBe('CONFIG_INVALID');
      expect(run.stderr).toContain(`rejected the batch: CONFIG_INVALID: ${reason}`);
    }
  });

  it('names a stdin that is a directory as its own failure to read (TAR_SOURCE_ERROR), never as a stream that ended early', async () => {
    const dir = await makeUpdatesDir();
    for (const sandbox of ['none', 'auto']) {
      const run = await runReceiver(['receive', '--updates-dir', dir, '--sandbox', sandbox, ...(await keyringArgs())], { prefix: ['bash', '-c', 'exec "$@" 0<"$0"', tmpdir()] });
      expect(run.code).toBe(1);
      expect(replyError(run)).toEqual({ code: 'TAR_SOURCE_ERROR', message: "dom0 could not take the batch; the reason is in dom0's log" });
      expect(run.stderr).toContain('TAR_SOURCE_ERROR: reading the stream failed: stdin is a directory (EISDIR)');
    }
  });

  it('says it reads the stream from a terminal when run by hand there, and not when the stream comes through a pipe', async () => {
    const dir = await makeUpdatesDir();
    const args = ['receive', '--updates-dir', dir, '--sandbox', 'none', ...(await keyringArgs())];
    // script(1) gives it a terminal on stdin (and ends it at once: its own stdin is empty)
    const tty = await runReceiver(args, { prefix: ['bash', '-c', 'exec script -qec "$*" /dev/null', 'script'] });
    expect(tty.stdout).toContain('dom0-receiver: reading the update stream from stdin, which is a terminal');
    const piped = await runReceiver(args);
    expect(piped.stderr).toContain('dom0-receiver: rejected the batch');
    expect(piped.stderr).not.toContain('which is a terminal');
  });

  it("tells the sender the code of dom0's own failures, and keeps their reasons (dom0's paths) in dom0", async () => {
    const dir = await makeUpdatesDir();
    const cases: [string[], string, string][] = [
      [['--keyring', '/etc/hostname'], 'KEYRING_PARSE', '/etc/hostname'],
      [['--keyring', '/nonexistent/key.asc'], 'KEYRING_UNREADABLE', '/nonexistent/key.asc'],
      [[...(await keyringArgs()), '--sandbox', 'bwrap'], 'CONFIG_INVALID', 'bwrap is not installed'],
    ];
    for (const [args, code, reason] of cases) {
      const run = await runReceiver(['receive', '--updates-dir', dir, ...args], { stdin: await encodeStream([]), env: { PATH: '/nonexistent' } });
      expect(run.code).toBe(1);
      expect(replyError(run)).toEqual({ code, message: "dom0 could not take the batch; the reason is in dom0's log" });
      expect(run.stdout).not.toContain(reason);
      expect(run.stderr).toContain(`${code}: `);
      expect(run.stderr).toContain(reason);
    }
  });
});

describe('verify', () => {
  it('prints one OK verdict per good file and exits 0', async () => {
    const f = await getFixtures();
    const files = [...f.packages.v1, ...f.packages.v2].map((p) => p.path);
    const run = await runReceiver(['verify', ...(await keyringArgs()), ...files]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(files.length);
    lines.forEach((line, i) => expect(line.startsWith(`${files[i] ?? ''}: OK `)).toBe(true));
  });

  it('names the reason for each bad file and exits 1 when any file fails', async () => {
    const f = await getFixtures();
    const good = f.packages.v1[0]!.path;
    const expired = await signedVariant(f.packages.v2[0]!, { key: 'expired-rsa' });
    const sha1 = await signedVariant(f.packages.v2[1]!, { key: 'trusted-rsa', digestAlgo: 'sha1' });
    const files = [good, f.unsigned[0]!.path, f.untrusted[0]!.path, expired, sha1, '/nonexistent.rpm'];
    const run = await runReceiver(['verify', ...(await keyringArgs()), '--keyring', f.keys['expired-rsa'].publicKeyPath, ...files]);
    expect(run.code).toBe(1);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toContain(': OK ');
    expect(lines[1]).toMatch(/: REJECTED RPM_UNSIGNED /);
    expect(lines[2]).toMatch(/: REJECTED RPM_KEY_NOT_TRUSTED /);
    expect(lines[3]).toMatch(/: REJECTED RPM_KEY_EXPIRED /);
    expect(lines[4]).toMatch(/: REJECTED RPM_WEAK_HASH /);
    expect(lines[5]).toMatch(/: REJECTED RPM_IO /);
  });

  it('prints a file name holding terminal control characters sanitised, on its OK and its REJECTED line', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    const good = join(dir, 'good\u001b[2J\u001b]0;owned\u0007.rpm');
    await writeFile(good, await readFile(f.packages.v1[0]?.path ?? ''));
    const missing = join(dir, 'gone\u001b[31m.rpm');
    const run = await runReceiver(['verify', ...(await keyringArgs()), good, missing]);
    expect(run.code).toBe(1);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(': OK ');
    expect(lines[1]).toContain(': REJECTED RPM_IO ');
    expect(run.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
  });

  it('refuses a directory and a FIFO with no writer as not regular files, without waiting for the FIFO', async () => {
    const dir = await makeUpdatesDir();
    const fifo = join(dir, 'pipe.rpm');
    execFileSync('mkfifo', [fifo]);
    const run = await runReceiver(['verify', ...(await keyringArgs()), dir, fifo]);
    expect(run.code).toBe(1);
    expect(run.stdout.trim().split('\n')).toEqual([
      `${dir}: REJECTED RPM_IO not a regular file but a directory`,
      `${fifo}: REJECTED RPM_IO not a regular file but a FIFO`,
    ]);
  });
});
