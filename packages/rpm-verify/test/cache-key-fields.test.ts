import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyRpmFile } from '../src/file.ts';
import { fixtures, type Loaded } from './support/fixtures.ts';
import { NOW } from './support/verify-bytes.ts';

const run = promisify(execFile);
let fx: Loaded;
beforeAll(async () => {
  fx = await fixtures();
}, 300_000);

/** What rpm itself reads from the file: SHA1HEADER, SIZE and the legacy signature blob in hex. */
async function rpmQuery(path: string): Promise<{ sha1: string; size: string; legacy: string }> {
  const { stdout } = await run('rpm', ['-qp', '--nosignature', '--nodigest', '--qf', '%{SHA1HEADER}|%{SIZE}|%{SIGPGP}%{SIGGPG}', path], { env: { ...process.env, LC_ALL: 'C' } });
  const [sha1 = '', size = '', legacy = ''] = stdout.split('|');
  return { sha1, size, legacy: legacy.replaceAll('(none)', '') };
}

describe('cacheKeyFields', () => {
  it('reports the SHA1HEADER, installed SIZE and legacy signature blob rpm reads from the same package', async () => {
    const all = [...fx.set.packages.v1, ...fx.set.packages.extra, ...fx.set.rpmv3];
    expect(all.some((p) => p.rpmv3)).toBe(true);
    for (const pkg of all) {
      const { cacheKeyFields } = await verifyRpmFile(pkg.path, fx.trusted, { now: NOW });
      const rpm = await rpmQuery(pkg.path);
      expect(cacheKeyFields.sha1Header).toBe(rpm.sha1);
      expect(String(cacheKeyFields.installedSize)).toBe(rpm.size);
      expect(cacheKeyFields.legacySignature === null ? '' : Buffer.from(cacheKeyFields.legacySignature).toString('hex')).toBe(rpm.legacy);
      expect(cacheKeyFields.legacySignature !== null).toBe(pkg.rpmv3);
    }
  });
});
