// Vitest global setup shared by every package: the test run gets a fresh directory for TMPDIR
// (os.tmpdir() in the tests, and in every tool and bundle they start), removed when the run ends,
// so the thousands of scratch directories the tests make do not pile up in /tmp. Mode 1777 as
// /tmp: tests run tools as unprivileged users (the receiver's stage) that must reach their dirs.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup() {
  const previous = process.env.TMPDIR;
  const dir = mkdtempSync(join(tmpdir(), 'dom0-updates-tests.'));
  chmodSync(dir, 0o1777);
  process.env.TMPDIR = dir;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
}
