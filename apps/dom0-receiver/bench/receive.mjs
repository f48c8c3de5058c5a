#!/usr/bin/env node
// Benchmark: the full receive (decode, verify, publish) of a ~1 GiB batch of 40 signed packages,
// side by side with one `openssl dgst -sha256` pass over the same stream. Prints both times, the
// ratio, and the peak RSS of the receiver and of its stage child (VmHWM from /proc).
// Usage: node apps/dom0-receiver/bench/receive.mjs [--packages N] [--mib-per-package N] [--runs N]
//        [--stdin pipe|file] [--bundle FILE] [--skip-small]
import { spawn } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, openSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { once } from 'node:events';
import { parseArgs } from 'node:util';

const here = import.meta.dirname;
const root = join(here, '..', '..', '..');
const defaultBundle = join(here, '..', 'dist', 'dom0-receiver.mjs');
const fixturesBundle = join(root, 'tooling', 'fixtures', 'dist', 'fixtures.mjs');

const { values } = parseArgs({
  options: {
    packages: { type: 'string', default: '40' },
    'mib-per-package': { type: 'string', default: '25.6' },
    runs: { type: 'string', default: '3' },
    stdin: { type: 'string', default: 'pipe' },
    // another build of the receiver (A/B comparisons); default the package's dist bundle
    bundle: { type: 'string', default: defaultBundle },
    'skip-small': { type: 'boolean', default: false },
  },
});
const bundle = values.bundle;
const runs = Math.max(1, Number(values.runs));
if (values.stdin !== 'pipe' && values.stdin !== 'file') {
  console.error('bench: --stdin is pipe (as under qrexec) or file');
  process.exit(2);
}

for (const f of [bundle, fixturesBundle]) {
  if (!existsSync(f)) {
    console.error(`bench: ${f} is missing; run pnpm build first`);
    process.exit(2);
  }
}
const { buildFixtures, buildPackage } = await import(fixturesBundle);

async function buildStream(count, perPackage) {
  const set = await buildFixtures();
  const packages = [];
  for (let i = 0; i < count; i += 1) {
    process.stderr.write(`\rbench: package ${i + 1}/${count} (built once, then cached)`);
    packages.push(await buildPackage({ name: `bench-pkg-${String(i).padStart(2, '0')}`, version: '1.0', payloadBytes: perPackage }, { key: i % 2 === 0 ? 'trusted-rsa' : 'trusted-ed25519' }));
  }
  process.stderr.write('\n');
  const dir = join(root, '.cache', 'bench');
  await mkdir(dir, { recursive: true });
  // the fixture set's hash in the name: a stream signed with an older set's keys is never reused
  const setId = basename(dirname(dirname(dirname(set.trustedKeyPaths[0]))));
  const file = join(dir, `receive-${count}x${perPackage}-${setId}.tar`);
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

/** Runs a command with the stream on its stdin; samples the peak RSS (VmHWM) of it and of its children. */
function timeProcess(file, command, args, env = process.env) {
  const started = process.hrtime.bigint();
  // under qrexec the stream arrives on a pipe; `cat` feeds both commands the same way
  const feeder = values.stdin === 'pipe' ? spawn('cat', [file], { stdio: ['ignore', 'pipe', 'inherit'] }) : undefined;
  const input = feeder === undefined ? openSync(file, 'r') : feeder.stdout;
  const child = spawn(command, args, { stdio: [input, 'pipe', 'pipe'], env });
  if (typeof input === 'number') closeSync(input);
  const peaks = new Map();
  const sample = async () => {
    // every descendant: under bubblewrap the stage's node is a grandchild (receiver → bwrap → node)
    const pids = [];
    const queue = [child.pid];
    while (queue.length > 0) {
      const pid = queue.shift();
      pids.push(pid);
      try {
        const kids = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
        queue.push(...kids.trim().split(/\s+/).filter(Boolean).map(Number));
      } catch {}
    }
    for (const pid of pids) {
      try {
        const status = await readFile(`/proc/${pid}/status`, 'utf8');
        const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
        const comm = (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
        // the stage is the receiver's node child; createrepo_c is measured apart
        const name = pid === child.pid ? 'receiver' : comm === 'node' ? 'stage' : comm;
        peaks.set(name, Math.max(peaks.get(name) ?? 0, hwm));
      } catch {}
    }
  };
  const timer = setInterval(() => void sample(), 10);
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({ code, seconds: Number(process.hrtime.bigint() - started) / 1e9, peaks, stdout, stderr });
    });
  });
}

async function opensslPass(file) {
  const run = await timeProcess(file, 'openssl', ['dgst', '-sha256']);
  if (run.code !== 0) throw new Error(`openssl failed: ${run.stderr}`);
  return run;
}

async function receivePass(set, file) {
  const updates = await mkdtemp(join(tmpdir(), 'bench-updates-'));
  await chmod(updates, 0o755);
  const keyrings = set.trustedKeyPaths.flatMap((p) => ['--keyring', p]);
  try {
    const run = await timeProcess(file, process.execPath, [bundle, 'receive', '--updates-dir', updates, ...keyrings], { ...process.env, DOM0_RECEIVER_PROFILE: '1' });
    if (run.code !== 0) throw new Error(`receive failed with exit ${run.code}: ${run.stdout}${run.stderr}`);
    return run;
  } finally {
    await rm(updates, { recursive: true, force: true });
  }
}

const mib = (kb) => `${(kb / 1024).toFixed(1)} MiB`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const profileLines = (stderr) => stderr.split('\n').filter((l) => l.startsWith('dom0-receiver: profile '));

async function measure(count, mibPerPackage, passes) {
  const { set, file } = await buildStream(count, Math.round(mibPerPackage * 1024 * 1024));
  const size = (await stat(file)).size;
  await opensslPass(file); // warm the page cache so both measurements read from memory
  const results = [];
  for (let i = 0; i < passes; i += 1) {
    // side by side: one openssl pass right before each receive, so both see the same machine load
    const openssl = await opensslPass(file);
    const receive = await receivePass(set, file);
    results.push({ openssl, receive, ratio: receive.seconds / openssl.seconds });
  }
  console.log(`\nstream: ${count} packages, ${(size / 1024 ** 2).toFixed(1)} MiB (${file}), stdin from a ${values.stdin}`);
  for (const [i, r] of results.entries()) {
    console.log(`run ${i + 1}: openssl dgst -sha256 ${r.openssl.seconds.toFixed(2)} s, receive ${r.receive.seconds.toFixed(2)} s, ratio ${r.ratio.toFixed(2)}`);
    for (const line of profileLines(r.receive.stderr)) console.log(`  ${line.slice('dom0-receiver: '.length)}`);
  }
  const peak = (name) => Math.max(...results.map((r) => r.receive.peaks.get(name) ?? 0));
  console.log(`median: openssl ${median(results.map((r) => r.openssl.seconds)).toFixed(2)} s, receive ${median(results.map((r) => r.receive.seconds)).toFixed(2)} s, ratio ${median(results.map((r) => r.ratio)).toFixed(2)}`);
  console.log(`peak RSS receiver ${mib(peak('receiver'))}, stage ${mib(peak('stage'))}, createrepo_c ${mib(peak('createrepo_c'))}`);
}

// a small batch first: peak RSS must not grow with the batch
if (!values['skip-small']) await measure(4, 4, 1);
await measure(Number(values.packages), Number(values['mib-per-package']), runs);
