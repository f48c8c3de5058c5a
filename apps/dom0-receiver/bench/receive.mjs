#!/usr/bin/env node
// Benchmark: the full receive (decode, verify, publish) of a ~1 GiB batch of 40 signed packages,
// side by side with one `openssl dgst -sha256` pass over the same stream. Prints both times, the
// ratio, the CPU time each used, the peak RSS of the receiver and of its stage child (VmHWM from
// /proc), and an estimated floor: the CPU that the checks cannot skip, spread over every core.
// Last, the peak RSS of receiving one package whose signed header is --header-mib large (0: skip).
// Usage: `pnpm bench --help`, or node apps/dom0-receiver/bench/receive.mjs --help.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, constants, createWriteStream, existsSync, fdatasyncSync, ftruncateSync, openSync, readFileSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { once } from 'node:events';
import { parseArgs } from 'node:util';

const here = import.meta.dirname;
const root = join(here, '..', '..', '..');
const defaultBundle = join(here, '..', 'dist', 'dom0-receiver.mjs');
const fixturesBundle = join(root, 'tooling', 'fixtures', 'dist', 'fixtures.mjs');

const USAGE = `usage: pnpm bench [--packages N] [--mib-per-package N] [--runs N] [--stdin pipe|file]
                  [--bundle FILE] [--skip-small] [--header-mib N]
  --packages N         packages in the large batch, 1 to 4096 (default 40)
  --mib-per-package N  payload MiB of each, 0.001 to 1024 (default 25.6)
  --runs N             receives of the large batch, 1 to 100, each after its own openssl pass (default 3)
  --stdin pipe|file    how the stream reaches both commands: from cat through a stream, as under qrexec (Node connects
                       them with a socket pair), or the file itself (default pipe)
  --bundle FILE        another build of dom0-receiver.mjs, for A/B comparisons (default the app's dist bundle)
  --skip-small         leave out the 16 MiB batch that checks memory
  --header-mib N       MiB of signed header in the last package received, 0 (skip) to 30 (default 24)`;

function usageError(message) {
  console.error(`bench: ${message}`);
  console.error(USAGE);
  process.exit(2);
}

/** A number option within [min, max]; `integer` when only whole numbers make sense. */
function numberOption(name, min, max, integer) {
  const raw = values[name];
  const value = Number(raw);
  const ok = /^\d+(\.\d+)?$/.test(raw) && (!integer || Number.isInteger(value)) && value >= min && value <= max;
  if (!ok) usageError(`--${name} takes ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, not "${raw}"`);
  return value;
}

// `pnpm bench -- --runs 1` passes the `--` on
const argv = process.argv.slice(2);
if (argv[0] === '--') argv.shift();
let values;
try {
  ({ values } = parseArgs({
    args: argv,
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      packages: { type: 'string', default: '40' },
      'mib-per-package': { type: 'string', default: '25.6' },
      runs: { type: 'string', default: '3' },
      stdin: { type: 'string', default: 'pipe' },
      // another build of the receiver (A/B comparisons); default the package's dist bundle
      bundle: { type: 'string', default: defaultBundle },
      'skip-small': { type: 'boolean', default: false },
      // under the verifier's 32 MiB header budget, with room for the signature header
      'header-mib': { type: 'string', default: '24' },
    },
  }));
} catch (error) {
  usageError(error.message);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const packageCount = numberOption('packages', 1, 4096, true);
// a package under 1 KiB of payload is no measure of throughput, and the fixture builder needs a positive size
const mibPerPackage = numberOption('mib-per-package', 0.001, 1024, false);
const runs = numberOption('runs', 1, 100, true);
const headerMib = numberOption('header-mib', 0, 30, false);
if (values.stdin !== 'pipe' && values.stdin !== 'file') usageError(`--stdin is pipe (as under qrexec) or file, not "${values.stdin}"`);
const bundle = values.bundle;

for (const f of [bundle, fixturesBundle]) {
  if (!existsSync(f)) {
    console.error(`bench: ${f} is missing; ${f === bundle && bundle !== defaultBundle ? 'check --bundle' : 'run pnpm build first'}`);
    process.exit(2);
  }
}

// A signal (Ctrl-C) stops the commands being measured, then removes what this run left in the
// temporary directory (an updates dir, up to a GiB of written files) and in .cache/bench.
const temporary = new Set();
const running = new Set();
let stopping = false;
function track(child) {
  // started after a signal (the main flow runs on until the cleanup exits): stopped at once
  if (stopping) child.kill('SIGTERM');
  running.add(child);
  child.on('exit', () => running.delete(child));
  return child;
}
function stopOn(signal, code) {
  if (stopping) return;
  stopping = true;
  console.error(`\nbench: ${signal}: stopping the commands and removing temporary files`);
  for (const child of running) child.kill('SIGTERM');
  const deadline = Date.now() + 10_000;
  const finish = () => {
    if (running.size > 0 && Date.now() < deadline) return void setTimeout(finish, 50);
    for (const child of running) child.kill('SIGKILL');
    for (const path of temporary) rmSync(path, { recursive: true, force: true });
    process.exit(code);
  };
  finish();
}
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) process.on(signal, () => stopOn(signal, code));

const { buildFixtures, buildPackage } = await import(fixturesBundle);

async function buildStream(count, perPackage, descriptionBytes = 0) {
  const set = await buildFixtures();
  const dir = join(root, '.cache', 'bench');
  await mkdir(dir, { recursive: true });
  // the fixture set's hash and its keys in the name: a stream signed with an older set's keys, or
  // with the keys of a set rebuilt under the same hash (.cache/fixtures removed), is never reused
  const keysId = createHash('sha256').update(set.trustedKeyPaths.map((path) => readFileSync(path, 'utf8')).join('\0')).digest('hex').slice(0, 12);
  const setId = `${basename(dirname(dirname(dirname(set.trustedKeyPaths[0]))))}-${keysId}`;
  const file = join(dir, `receive-${count}x${perPackage}${descriptionBytes > 0 ? `h${descriptionBytes}` : ''}-${setId}.tar`);
  if (!existsSync(file)) {
    const packages = [];
    // one live line on a terminal; in a log, one line per package
    const tty = process.stderr.isTTY === true;
    for (let i = 0; i < count; i += 1) {
      process.stderr.write(`${tty ? '\r' : ''}bench: building package ${i + 1}/${count} (once: the stream is cached)${tty ? '' : '\n'}`);
      const name = `bench-${descriptionBytes > 0 ? 'header' : 'pkg'}-${String(i).padStart(2, '0')}`;
      packages.push(await buildPackage({ name, version: '1.0', payloadBytes: perPackage, descriptionBytes }, { key: i % 2 === 0 ? 'trusted-rsa' : 'trusted-ed25519' }));
    }
    if (tty) process.stderr.write('\n');
    // streams of an older fixture set are never read again (a gigabyte each)
    for (const name of await readdir(dir)) {
      if (/^receive-\d+x\d+(h\d+)?-[0-9a-f-]+\.tar(\.tmp)?$/.test(name) && !name.endsWith(`-${setId}.tar`)) await rm(join(dir, name), { force: true });
    }
    // tar(1) with these options writes the pinned ustar subset (regular files, no pax/GNU headers)
    const tmp = `${file}.tmp`;
    temporary.add(tmp);
    const out = createWriteStream(tmp);
    const tar = track(spawn('tar', ['--format=ustar', '--owner=0', '--group=0', '--numeric-owner', '--mode=0644', '--mtime=@0', '-b', '1', '-cf', '-', ...packages.flatMap((p) => ['-C', dirname(p.path), p.fileName])], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }));
    tar.stdout.pipe(out);
    const [[code]] = await Promise.all([once(tar, 'close'), once(out, 'close')]);
    if (code !== 0) throw new Error(`tar failed with exit ${code}`);
    await rename(tmp, file);
    temporary.delete(tmp);
  }
  return { set, file };
}

const clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/**
 * Busy CPU seconds of the whole machine so far (every core; user, nice, system, irq, softirq and
 * steal from /proc/stat). Kernel threads count here, such as the flusher threads that write back
 * dirty pages for a process: their work takes the same cores but is not in any process's times.
 */
function machineCpu() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return (user + nice + system + irq + softirq + (steal ?? 0)) / clockTicks;
}

/** user + system clock ticks of a process, all its threads included (fields 14 and 15 of its stat). */
function cpuTicks(stat) {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * Runs a command with the stream on its stdin; samples (every 10 ms) the peak RSS (VmHWM) of it and
 * of its descendants, and the CPU time of the whole tree, the feeder included. The CPU is sampled,
 * not taken from the reaped children's totals, because a stage under bubblewrap is reaped inside
 * its own PID namespace and its time never reaches us; a process's last 10 ms can be missed.
 */
function timeProcess(file, command, args, env = process.env) {
  const started = process.hrtime.bigint();
  const machineBefore = machineCpu();
  // under qrexec the stream arrives on a pipe; `cat` feeds both commands the same way
  const feeder = values.stdin === 'pipe' ? track(spawn('cat', [file], { stdio: ['ignore', 'pipe', 'inherit'] })) : undefined;
  const input = feeder === undefined ? openSync(file, 'r') : feeder.stdout;
  const child = track(spawn(command, args, { stdio: [input, 'pipe', 'pipe'], env }));
  if (typeof input === 'number') closeSync(input);
  const peaks = new Map();
  const ticks = new Map();
  // synchronous reads: a sample costs well under a millisecond, so the sampling takes little of
  // the cores the measured commands need (async reads cost several times more, in this process)
  const sample = () => {
    // every descendant: under bubblewrap the stage's node is a grandchild (receiver → bwrap → node)
    const pids = [];
    const queue = feeder === undefined ? [child.pid] : [child.pid, feeder.pid];
    while (queue.length > 0) {
      const pid = queue.shift();
      pids.push(pid);
      try {
        const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
        queue.push(...kids.trim().split(/\s+/).filter(Boolean).map(Number));
      } catch {}
    }
    for (const pid of pids) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        ticks.set(pid, Math.max(ticks.get(pid) ?? 0, cpuTicks(stat)));
        if (pid === feeder?.pid) continue;
        const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        // the stage is the receiver's node child; createrepo_c is measured apart
        const name = pid === child.pid ? 'receiver' : comm === 'node' ? 'stage' : comm;
        peaks.set(name, Math.max(peaks.get(name) ?? 0, hwm));
      } catch {}
    }
  };
  const timer = setInterval(sample, 10);
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      const cpu = [...ticks.values()].reduce((a, b) => a + b, 0) / clockTicks;
      const machine = machineCpu() - machineBefore;
      resolve({ code, seconds: Number(process.hrtime.bigint() - started) / 1e9, cpu, machine, peaks, stdout, stderr });
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
  temporary.add(updates);
  await chmod(updates, 0o755);
  const keyrings = set.trustedKeyPaths.flatMap((p) => ['--keyring', p]);
  try {
    const run = await timeProcess(file, process.execPath, [bundle, 'receive', '--updates-dir', updates, ...keyrings], { ...process.env, DOM0_RECEIVER_PROFILE: '1' });
    if (run.code !== 0) {
      const reply = run.stdout.trim();
      const room = /"TAR_TOO_MANY_BYTES"|"DISK_FULL"/.test(reply) ? `; the updates dir is in ${tmpdir()} (TMPDIR), which needs room for the whole stream (${Math.ceil((await stat(file)).size / 1024 ** 2)} MiB) and more` : '';
      throw new Error(`the receive failed with exit ${run.code}${room}: ${reply}${run.stderr.trim() === '' ? '' : `\n${run.stderr.trim()}`}`);
    }
    return run;
  } finally {
    await rm(updates, { recursive: true, force: true });
    temporary.delete(updates);
  }
}

const cpuSeconds = (since) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};

/** CPU seconds of one digest over the whole stream, fed in the 64 KiB pieces the stage sees. */
function digestCpu(file, algorithm) {
  const fd = openSync(file, 'r');
  const chunk = Buffer.alloc(64 * 1024);
  const hash = createHash(algorithm);
  let spent = 0;
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const before = process.cpuUsage();
      hash.update(n === chunk.length ? chunk : chunk.subarray(0, n));
      spent += cpuSeconds(before);
    }
    hash.digest();
  } finally {
    closeSync(fd);
  }
  return spent;
}

/**
 * CPU seconds to write the stream into `count` files next to the updates dir, each fdatasync'd:
 * the whole machine's busy time over the writing (writeback by kernel threads included, as in a
 * receive), less this process's own reading of the stream. Reading the input and the bench's
 * sampling of nothing else run meanwhile, so other load on the machine would count too.
 * `direct`: as the stage writes where the file system allows, with O_DIRECT from aligned memory
 * in 1 MiB blocks, the last one padded and cut back; null if the file system refuses O_DIRECT.
 */
async function writeCpu(file, count, direct) {
  const dir = await mkdtemp(join(tmpdir(), 'bench-write-'));
  temporary.add(dir);
  const size = (await stat(file)).size;
  const perFile = Math.ceil(size / count);
  const input = openSync(file, 'r');
  // buffered: the 64 KiB pieces the stage once wrote (1 MiB pieces cost over twice the CPU here,
  // the buffer no longer staying in the CPU's cache between the read and the write)
  const block = 4096;
  const piece = direct ? 1024 * 1024 : 64 * 1024;
  // page-aligned memory for direct writes, as the stage's (WebAssembly memory starts on a page;
  // memory aligned only to the kernel's 512-byte minimum writes many times slower on a virtio disk)
  const pages = Math.ceil((piece + block) / 65536);
  const memory = direct ? new Uint8Array(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer) : Buffer.alloc(piece + block);
  let offset = 0;
  if (direct) {
    const probePath = join(dir, 'probe');
    let probe;
    try {
      probe = openSync(probePath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DIRECT, 0o600);
    } catch {
      closeSync(input);
      await rm(dir, { recursive: true, force: true });
      return null;
    }
    try {
      for (offset = 0; offset < block; offset += 16) {
        try {
          writeSync(probe, memory, offset, block, 0);
          break;
        } catch (error) {
          if (error.code !== 'EINVAL') throw error;
        }
      }
    } finally {
      closeSync(probe);
      unlinkSync(probePath);
    }
  }
  const chunk = memory.subarray(offset, offset + piece);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (direct ? constants.O_DIRECT : 0);
  let reading = 0;
  const machineBefore = machineCpu();
  try {
    for (let i = 0, left = size; left > 0; i += 1) {
      const out = openSync(join(dir, `${i}.rpm`), flags, 0o644);
      try {
        let inFile = 0;
        for (; inFile < perFile && left > 0; ) {
          const before = process.cpuUsage();
          const n = readSync(input, chunk, 0, Math.min(chunk.length, perFile - inFile, left), null);
          reading += cpuSeconds(before);
          const padded = direct ? Math.ceil(n / block) * block : n;
          chunk.fill(0, n, padded);
          writeSync(out, chunk, 0, padded, inFile);
          inFile += n;
          left -= n;
        }
        if (direct) ftruncateSync(out, inFile);
        fdatasyncSync(out);
      } finally {
        closeSync(out);
      }
    }
    // clock ticks are coarse: a small stream can come out a tick below its own reading
    return Math.max(0, machineCpu() - machineBefore - reading);
  } finally {
    closeSync(input);
    await rm(dir, { recursive: true, force: true });
    temporary.delete(dir);
  }
}

/**
 * What no receiver can skip, measured on this machine: everything the openssl pass does (the
 * feeder, reading the stream, one SHA-256), plus the second SHA-256 (payload digest), the legacy
 * MD5 (kept so that rpm agrees) and writing the files durably, the cheaper of direct and buffered
 * writes (the stage writes direct where it can). Spread perfectly over every core,
 * that CPU still takes `cpu / cores` seconds. It is an estimate from this run: the write part varies
 * most (0.6 to 2.8 s per GiB on the 2-core VM this was written on, for the same work).
 */
async function lowerBound(file, count, opensslCpu) {
  const sha256 = digestCpu(file, 'sha256');
  const md5 = digestCpu(file, 'md5');
  const buffered = await writeCpu(file, count, false);
  const direct = await writeCpu(file, count, true);
  const write = direct === null ? buffered : Math.min(direct, buffered);
  const cpu = opensslCpu + sha256 + md5 + write;
  const cores = availableParallelism();
  return { sha256, md5, write, buffered, direct, cpu, cores, seconds: cpu / cores };
}

const mib = (kb) => `${(kb / 1024).toFixed(1)} MiB`;
const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
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
  console.log(`\nstream: ${count} packages, ${(size / 1024 ** 2).toFixed(1)} MiB (${file}), stdin ${values.stdin === 'pipe' ? 'from cat through a socket pair' : 'the file itself'}`);
  for (const [i, r] of results.entries()) {
    console.log(`run ${i + 1}: openssl dgst -sha256 ${r.openssl.seconds.toFixed(2)} s, receive ${r.receive.seconds.toFixed(2)} s, ratio ${r.ratio.toFixed(2)}`);
    for (const line of profileLines(r.receive.stderr)) console.log(`  ${line.slice('dom0-receiver: '.length)}`);
  }
  const opensslCpu = median(results.map((r) => r.openssl.cpu));
  const opensslSeconds = median(results.map((r) => r.openssl.seconds));
  const bound = await lowerBound(file, count, opensslCpu);
  console.log(
    `CPU (whole process tree with the feeder, sampled; median): openssl pass ${opensslCpu.toFixed(2)} s, receive ${median(results.map((r) => r.receive.cpu)).toFixed(2)} s;` +
      ` whole machine (kernel writeback and this bench's sampling included): openssl pass ${median(results.map((r) => r.openssl.machine)).toFixed(2)} s, receive ${median(results.map((r) => r.receive.machine)).toFixed(2)} s`,
  );
  console.log(
    `floor estimate: the openssl pass's CPU ${opensslCpu.toFixed(2)} s + a second SHA-256 ${bound.sha256.toFixed(2)} s + MD5 ${bound.md5.toFixed(2)} s` +
      ` + writing and fdatasync (whole machine) ${bound.write.toFixed(2)} s` +
      ` (direct ${bound.direct === null ? 'refused' : `${bound.direct.toFixed(2)} s`}, buffered ${bound.buffered.toFixed(2)} s) = ${bound.cpu.toFixed(2)} s of CPU;` +
      ` spread perfectly over ${bound.cores} cores that is ${bound.seconds.toFixed(2)} s, ratio ${(bound.seconds / opensslSeconds).toFixed(2)}`,
  );
  const peak = (name) => Math.max(...results.map((r) => r.receive.peaks.get(name) ?? 0));
  console.log(`median: openssl ${median(results.map((r) => r.openssl.seconds)).toFixed(2)} s, receive ${median(results.map((r) => r.receive.seconds)).toFixed(2)} s, ratio ${median(results.map((r) => r.ratio)).toFixed(2)}`);
  console.log(`peak RSS receiver ${mib(peak('receiver'))}, stage ${mib(peak('stage'))}, createrepo_c ${mib(peak('createrepo_c'))}`);
}

/** One package with a large signed header: the verifier holds the header, so the stage's peak grows with it. */
async function measureHeader(headerMib) {
  const { set, file } = await buildStream(1, 0, Math.round(headerMib * 1024 * 1024));
  const receive = await receivePass(set, file);
  const size = (await stat(file)).size;
  console.log(`\nstream: 1 package with a ${headerMib} MiB description in its signed header, ${(size / 1024 ** 2).toFixed(1)} MiB (${file})`);
  console.log(`receive ${receive.seconds.toFixed(2)} s; peak RSS receiver ${mib(receive.peaks.get('receiver') ?? 0)}, stage ${mib(receive.peaks.get('stage') ?? 0)}`);
}

// other work on the machine slows the receive (two processes, several threads) far more than the
// single-threaded openssl pass: say so before the figures, not after
const [load] = loadavg();
if (load > 1) {
  console.log(`bench: load average ${load.toFixed(1)} at the start: other work shares the ${availableParallelism()} cores, so the receive and its ratio will come out pessimistic; rerun on an idle machine for the figure that counts`);
}
try {
  // a small batch first: peak RSS must not grow with the batch
  if (!values['skip-small']) {
    console.log('\n(the 16 MiB batch checks memory; its time is mostly the two processes starting, so its ratio says nothing about throughput)');
    await measure(4, 4, 1);
  }
  await measure(packageCount, mibPerPackage, runs);
  if (headerMib > 0) await measureHeader(headerMib);
} catch (error) {
  // a command stopped by the signal fails its step: stopOn exits once the cleanup is done
  if (stopping) await new Promise(() => {});
  // one line, no stack: the cleanup above (finally blocks) has already run
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
