#!/usr/bin/env node
// Benchmark: the full receive (decode, verify, publish) of a ~1 GiB batch of 40 signed packages,
// side by side with one `openssl dgst -sha256` pass over the same stream. Prints both times, the
// ratio, and the peak RSS of the receiver and of its stage child (VmHWM from /proc).
// Usage: node apps/dom0-receiver/bench/receive.mjs [--packages N] [--mib-per-package N]
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import { parseArgs } from 'node:util';

const here = import.meta.dirname;
const root = join(here, '..', '..', '..');
const bundle = join(here, '..', 'dist', 'dom0-receiver.mjs');
const fixturesBundle = join(root, 'tooling', 'fixtures', 'dist', 'fixtures.mjs');

const { values } = parseArgs({ options: { packages: { type: 'string', default: '40' }, 'mib-per-package': { type: 'string', default: '25.6' } } });
const count = Number(values.packages);
const perPackage = Math.round(Number(values['mib-per-package']) * 1024 * 1024);

for (const f of [bundle, fixturesBundle]) {
  if (!existsSync(f)) {
    console.error(`bench: ${f} is missing; run pnpm build first`);
    process.exit(2);
  }
}
const { buildFixtures, buildPackage } = await import(fixturesBundle);

async function buildStream() {
  const set = await buildFixtures();
  const packages = [];
  for (let i = 0; i < count; i += 1) {
    process.stderr.write(`\rbench: package ${i + 1}/${count} (built once, then cached)`);
    packages.push(await buildPackage({ name: `bench-pkg-${String(i).padStart(2, '0')}`, version: '1.0', payloadBytes: perPackage }, { key: i % 2 === 0 ? 'trusted-rsa' : 'trusted-ed25519' }));
  }
  process.stderr.write('\n');
  const dir = join(root, '.cache', 'bench');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `receive-${count}x${perPackage}.tar`);
  if (!existsSync(file)) {
    // tar(1) with these options writes the pinned ustar subset (regular files, no pax/GNU headers)
    const tmp = `${file}.tmp`;
    const out = createWriteStream(tmp);
    const tar = spawn('tar', ['--format=ustar', '--owner=0', '--group=0', '--numeric-owner', '--mode=0644', '--mtime=@0', '-b', '1', '-cf', '-', ...packages.flatMap((p) => ['-C', dirname(p.path), p.fileName])], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    tar.stdout.pipe(out);
    const [[code]] = await Promise.all([once(tar, 'close'), once(out, 'close')]);
    if (code !== 0) throw new Error(`tar failed with exit ${code}`);
    await rename(tmp, file);
  }
  return { set, file };
}

function timeProcess(command, args, options) {
  const started = process.hrtime.bigint();
  const child = spawn(command, args, options);
  const peaks = new Map();
  const sample = async () => {
    const pids = [child.pid];
    try {
      const kids = await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8');
      pids.push(...kids.trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {}
    for (const pid of pids) {
      try {
        const status = await readFile(`/proc/${pid}/status`, 'utf8');
        const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
        const name = pid === child.pid ? 'receiver' : 'stage';
        peaks.set(name, Math.max(peaks.get(name) ?? 0, hwm));
      } catch {}
    }
  };
  const timer = setInterval(() => void sample(), 20);
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({ code, seconds: Number(process.hrtime.bigint() - started) / 1e9, peaks, stdout });
    });
  });
}

const { set, file } = await buildStream();
const size = (await stat(file)).size;
const { open } = await import('node:fs/promises');

async function withStdin(fn) {
  const handle = await open(file, 'r');
  try {
    return await fn(handle.fd);
  } finally {
    await handle.close();
  }
}

// warm the page cache so both measurements read from memory
await withStdin((fd) => timeProcess('openssl', ['dgst', '-sha256'], { stdio: [fd, 'pipe', 'inherit'] }));
const openssl = await withStdin((fd) => timeProcess('openssl', ['dgst', '-sha256'], { stdio: [fd, 'pipe', 'inherit'] }));
if (openssl.code !== 0) throw new Error('openssl failed');

const updates = await mkdtemp(join(tmpdir(), 'bench-updates-'));
await chmod(updates, 0o755);
const keyrings = set.trustedKeyPaths.flatMap((p) => ['--keyring', p]);
const receive = await withStdin((fd) =>
  timeProcess(process.execPath, [bundle, 'receive', '--updates-dir', updates, ...keyrings], { stdio: [fd, 'pipe', 'inherit'] }),
);
await rm(updates, { recursive: true, force: true });
if (receive.code !== 0) throw new Error(`receive failed with exit ${receive.code}: ${receive.stdout}`);

const mib = (kb) => `${(kb / 1024).toFixed(1)} MiB`;
console.log(`stream: ${count} packages, ${(size / 1024 ** 3).toFixed(2)} GiB (${file})`);
console.log(`openssl dgst -sha256:              ${openssl.seconds.toFixed(2)} s`);
console.log(`dom0-receiver receive (full):      ${receive.seconds.toFixed(2)} s`);
console.log(`ratio receive / openssl:           ${(receive.seconds / openssl.seconds).toFixed(2)}`);
console.log(`peak RSS receiver: ${mib(receive.peaks.get('receiver') ?? 0)}, stage: ${mib(receive.peaks.get('stage') ?? 0)}`);
