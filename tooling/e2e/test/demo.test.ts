// The README's first command, as a user runs it: the demo bundle, end to end.
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { join } from 'node:path';
import { REPO_ROOT } from '../src/paths.ts';

const DEMO = join(REPO_ROOT, 'tooling/e2e/dist/demo.mjs');

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

  it('refuses an unknown argument with a usage message', async () => {
    const r = await execa(process.execPath, [DEMO, '--bogus'], { reject: false, all: true });
    expect(r.exitCode).toBe(2);
    expect(r.all).toMatch(/usage: demo \[--tamper\] \[--keep\]/);
  });
});
