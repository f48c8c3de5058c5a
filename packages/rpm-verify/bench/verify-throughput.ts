/**
 * Throughput of the streaming verifier against one `openssl dgst -sha256` pass over the same file,
 * and against single node:crypto passes, to show where the time goes. Not a test: prints figures.
 *   pnpm bench            (256 MiB payload; BENCH_MIB=1024 for more)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { buildFixtures, buildPackage } from '@dom0-updates/fixtures';
import { loadKeyring } from '../src/pgp/keyring.ts';
import { createRpmVerifier } from '../src/verifier.ts';

const MIB = 1024 * 1024;
const payloadMiB = Number(process.env['BENCH_MIB'] ?? '256');
const CHUNK = 1 * MIB;
const ROUNDS = 3;

function best(run: () => void): number {
  let min = Infinity;
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = process.hrtime.bigint();
    run();
    min = Math.min(min, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return min;
}

async function bestAsync(run: () => Promise<unknown>): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = process.hrtime.bigint();
    await run();
    min = Math.min(min, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return min;
}

const set = await buildFixtures();
const pkg = await buildPackage({ name: 'bench-big', version: '1.0', payloadBytes: payloadMiB * MIB }, { key: 'trusted-rsa' });
const bytes = await readFile(pkg.path);
const keyring = await loadKeyring(await Promise.all(set.trustedKeyPaths.map((p) => readFile(p, 'utf8'))));
const now = new Date('2025-06-01T00:00:00Z');

const chunks = (): Uint8Array[] => {
  const out: Uint8Array[] = [];
  for (let o = 0; o < bytes.length; o += CHUNK) out.push(bytes.subarray(o, o + CHUNK));
  return out;
};
const parts = chunks();

const openssl = best(() => execFileSync('openssl', ['dgst', '-sha256', pkg.path], { stdio: ['ignore', 'ignore', 'inherit'] }));
const oneHash = (algo: string) => best(() => {
  const h = createHash(algo);
  for (const c of parts) h.update(c);
  h.digest();
});
const sha256 = oneHash('sha256');
const md5 = oneHash('md5');
const verify = (checkLegacyMd5: boolean) =>
  bestAsync(async () => {
    const v = createRpmVerifier(keyring, { now, checkLegacyMd5 }, 'bench.rpm');
    for (const c of parts) v.write(c);
    await v.finish();
  });
const full = await verify(true);
const noMd5 = await verify(false);

const mb = bytes.length / MIB;
const row = (what: string, s: number) => console.log(`${what.padEnd(42)} ${s.toFixed(3)} s  ${(mb / s).toFixed(0).padStart(5)} MiB/s  ${(s / openssl).toFixed(2)}x openssl`);
console.log(`file ${mb.toFixed(0)} MiB, chunks of ${CHUNK / MIB} MiB, best of ${ROUNDS}`);
row('openssl dgst -sha256 (file, page cache)', openssl);
row('node sha256, one pass', sha256);
row('node md5, one pass', md5);
row('verifier (default: with legacy MD5)', full);
row('verifier (checkLegacyMd5: false)', noMd5);
