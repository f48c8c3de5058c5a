// The README's first command, as a user runs it: the demo bundle, end to end.
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../src/paths.ts';

const DEMO = join(REPO_ROOT, 'tooling/e2e/dist/demo.mjs');

/**
 * Runs the demo with --keep (and `args`) under a TMPDIR of its own, expects it to pass, hands the
 * output and the kept rerun script to `check`, then removes everything it kept.
 */
async function withKeptDemo(args: readonly string[], check: (kept: { all: string; base: string; rerun: string }) => Promise<void>): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), 'demo-keep-'));
  try {
    const r = await execa(process.execPath, [DEMO, ...args, '--keep'], { reject: false, all: true, timeout: 240_000, env: { TMPDIR: base } });
    expect(r.exitCode, r.all).toBe(0);
    await check({ all: r.all, base, rerun: /^ {4}run it again: +(\S+) -y /m.exec(r.all)?.[1] ?? 'false' });
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

const rerunKept = (rerun: string, args: readonly string[]) => execa(rerun, args, { reject: false, all: true, timeout: 240_000 });

describe('the demo', () => {
  it('updates dom0 to 2.0, names each verified package and its key, then finds nothing to do', async () => {
    const r = await execa(process.execPath, [DEMO], { reject: false, all: true, timeout: 240_000 });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/dom0-hello-2\.0-1\.noarch\s+signed by trusted-rsa/);
    expect(r.all).toMatch(/dom0-tool-2\.0-1\.noarch\s+signed by trusted-ed25519/);
    expect(r.all).toMatch(/\+ dom0-hello-2\.0-1\.noarch/);
    expect(r.all).toMatch(/Demo finished: dom0 was updated, then found nothing to do\./);
  }, 300_000);

  it('with --tamper, shows dom0 refusing the tampered package and installing nothing', async () => {
    const r = await execa(process.execPath, [DEMO, '--tamper'], { reject: false, all: true, timeout: 240_000 });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/rejected dom0-hello-2\.0-1\.noarch\.rpm: RPM_PAYLOAD_MISMATCH/);
    expect(r.all).toMatch(/nothing was installed: dom0 is unchanged/);
  }, 300_000);

  it('with --keep, keeps the machine with a rerun script that updates it again once taken back to 1.0', async () => {
    await withKeptDemo([], async ({ all, base, rerun }) => {
      const back = /^ {4}back to 1\.0: +(rpm .+)$/m.exec(all)?.[1];
      expect(rerun, all).toMatch(new RegExp(`^${base}/dom0-updates-demo-\\d+/rerun$`));
      expect(back, all).toBeDefined();
      await execa('sh', ['-c', back ?? 'false']);
      const again = await rerunKept(rerun, ['-y']);
      expect(again.exitCode, again.all).toBe(0);
      expect(again.all).toMatch(/upgraded dom0-hello\.noarch 1\.0-1 -> 2\.0-1/);
      const still = await rerunKept(rerun, ['--check-only']);
      expect(still.exitCode, still.all).toBe(0);
    });
  }, 600_000);

  it('with --tamper --keep, says a rerun meets the same compromised UpdateVM, which it does, and offers no way back to 1.0', async () => {
    await withKeptDemo(['--tamper'], async ({ all, rerun }) => {
      expect(all).toMatch(/^ {4}run it again: +\S+ -y {2}\(the same compromised UpdateVM: dom0 refuses its batch again;/m);
      expect(all).not.toMatch(/back to 1\.0/);
      const again = await rerunKept(rerun, ['-y']);
      expect(again.exitCode, again.all).toBe(1);
      expect(again.all).toMatch(/\[RPM_PAYLOAD_MISMATCH\]/);
      // the stand-in only sends batches: a check says so in a line, not a stack trace
      const check = await rerunKept(rerun, ['--check-only']);
      expect(check.exitCode).toBe(1);
      expect(check.all).toContain('this stand-in for a compromised UpdateVM only sends batches');
      expect(check.all).not.toMatch(/TypeError|\n\s+at /);
    });
  }, 600_000);

  it('is refused by setup, before anything is installed, under a TMPDIR that is missing, relative, or holds a space, comma or %', async () => {
    const base = mkdtempSync(join(tmpdir(), 'demo-tmpdir-'));
    try {
      for (const name of ['with space', 'a,b', 'x%{_arch}', 'rel']) mkdirSync(join(base, name));
      const splits = 'holds a space or comma, where dnf splits its repository settings; set TMPDIR to a path without them';
      for (const [dir, reason] of [
        [join(base, 'missing'), 'is not a writable directory; create it or unset TMPDIR'],
        [join(base, 'with space'), splits],
        [join(base, 'a,b'), splits],
        [join(base, 'x%{_arch}'), 'holds a %, which rpm expands as a macro in the paths it is given; set TMPDIR to a path without it'],
        // an existing directory, named from the working directory below
        ['rel', 'is not an absolute path, which rpm refuses for its --root; set TMPDIR to an absolute path'],
      ] as const) {
        const r = await execa('bash', [join(REPO_ROOT, 'run.sh'), 'demo'], { reject: false, all: true, cwd: base, env: { TMPDIR: dir } });
        expect(r.exitCode).toBe(1);
        expect(r.all).toBe(`setup: TMPDIR=${dir} ${reason}`);
      }
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('refuses an unknown argument with a usage message', async () => {
    const r = await execa(process.execPath, [DEMO, '--bogus'], { reject: false, all: true });
    expect(r.exitCode).toBe(2);
    expect(r.all).toMatch(/usage: demo \[--tamper\] \[--keep\]/);
  });
});
