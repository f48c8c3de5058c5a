import { spawn } from 'node:child_process';
import { chown, lstat, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DYNAMIC_ID_COUNT, DYNAMIC_ID_FIRST, idsOfLiveProcesses, resolveStageUser } from '../src/config/stage-user.ts';
import { killAllOf, killerCommand, reapStageUser } from '../src/receive/reap-stage-user.ts';
import { BUNDLE, encodeStream, fileMember, getFixtures, keyringArgs, makeUpdatesDir, receiveHeldAfterFirstMember, replyError, runReceiver, startPausedAt } from './helpers.ts';


async function statusOf(pid: number): Promise<{ ppid: number; uid: number; gid: number; cmdline: string }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const num = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1]);
  return { ppid: num('PPid'), uid: num('Uid'), gid: num('Gid'), cmdline: (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ') };
}

const passwdUids = async (): Promise<number[]> => (await readFile('/etc/passwd', 'utf8')).split('\n').map((l) => Number(l.split(':')[2]));

function inDynamicRange(id: number): boolean {
  return id >= DYNAMIC_ID_FIRST && id < DYNAMIC_ID_FIRST + DYNAMIC_ID_COUNT;
}

describe('the stage identity', () => {
  it('is a fresh uid/gid with no passwd entry that owns the staging dir while the stage runs', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    const stream = await encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path))));
    const receiver = await startPausedAt('stage-after-member', ['receive', '--updates-dir', dir, ...(await keyringArgs())], stream);
    try {
      let stage: Awaited<ReturnType<typeof statusOf>> | undefined;
      for (const entry of (await readdir('/proc')).filter((e) => /^\d+$/.test(e))) {
        const s = await statusOf(Number(entry)).catch(() => undefined);
        if (s?.ppid === receiver.pid && s.cmdline.includes('__stage')) stage = s;
      }
      if (stage === undefined) throw new Error('no stage process found');
      expect(inDynamicRange(stage.uid)).toBe(true);
      expect(stage.gid).toBe(stage.uid);
      expect(await passwdUids()).not.toContain(stage.uid);
      const staging = (await readdir(dir)).find((n) => n.startsWith('staging.'));
      expect((await lstat(join(dir, staging ?? 'missing'))).uid).toBe(stage.uid);
    } finally {
      await receiver.kill();
    }
  });

  it('drops to a dynamic uid when only the effective uid is root (a setreuid launcher)', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    const stream = await encodeStream([await fileMember(f.packages.v2[0]!.path)]);
    // real uid nobody, effective uid root, as a setuid wrapper or `sudo`-like launcher may leave it
    const reuid = ['python3', '-c', 'import os, sys; os.setreuid(65534, 0); os.execvp(sys.argv[1], sys.argv[1:])'];
    const receiver = await startPausedAt('stage-after-member', ['receive', '--updates-dir', dir, ...(await keyringArgs())], stream, reuid);
    try {
      const receiverUids = (await readFile(`/proc/${receiver.pid}/status`, 'utf8')).match(/^Uid:\s+(\d+)\s+(\d+)/m);
      expect([receiverUids?.[1], receiverUids?.[2]]).toEqual(['65534', '0']);
      let stagePid: number | undefined;
      for (const entry of (await readdir('/proc')).filter((e) => /^\d+$/.test(e))) {
        const s = await statusOf(Number(entry)).catch(() => undefined);
        if (s?.ppid === receiver.pid && s.cmdline.includes('__stage')) stagePid = Number(entry);
      }
      if (stagePid === undefined) throw new Error('no stage process found');
      const status = await readFile(`/proc/${stagePid}/status`, 'utf8');
      // real, effective, saved and file-system uid: all the dynamic one, and no capability left
      const uids = /^Uid:\s+(.*)$/m.exec(status)?.[1]?.split(/\s+/).map(Number) ?? [];
      expect(uids).toHaveLength(4);
      for (const uid of uids) expect(inDynamicRange(uid)).toBe(true);
      expect(/^CapEff:\s+(\S+)/m.exec(status)?.[1]).toBe('0000000000000000');
    } finally {
      await receiver.kill();
    }
  });

  it('ends by itself when its receiver is killed, without bwrap to do it', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    const stream = await encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path))));
    const receiver = await startPausedAt('stage-after-member', ['receive', '--updates-dir', dir, ...(await keyringArgs()), '--sandbox', 'none'], stream);
    let stagePid: number | undefined;
    for (const entry of (await readdir('/proc')).filter((e) => /^\d+$/.test(e))) {
      const s = await statusOf(Number(entry)).catch(() => undefined);
      if (s?.ppid === receiver.pid && s.cmdline.includes('__stage')) stagePid = Number(entry);
    }
    if (stagePid === undefined) throw new Error('no stage process found');
    await receiver.kill();
    const gone = async (): Promise<boolean> => {
      const status = await readFile(`/proc/${stagePid}/status`, 'utf8').catch(() => '');
      return status === '' || /^State:\s+[ZX]/m.test(status);
    };
    for (let i = 0; i < 100 && !(await gone()); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await gone()).toBe(true);
  });

  it('kills what an interrupted run\'s stage left running as its dynamic uid before the next receive removes that staging dir, and nothing of any other uid', async () => {
    const dir = await makeUpdatesDir();
    const owner = await resolveStageUser(undefined);
    if (owner === undefined) throw new Error('not root');
    // as a receiver killed with SIGKILL leaves them: its staging dir, still the stage uid's, and a process of that uid
    const left = join(dir, 'staging.left01');
    await mkdir(left);
    await chown(left, owner.uid, owner.gid);
    const other = join(dir, 'staging.left02');
    await mkdir(other);
    await chown(other, 65534, 65534);
    const sleeper = (uid: number) => {
      const child = spawn('sleep', ['60'], { uid, gid: uid, stdio: 'ignore' });
      return { child, ended: new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal))) };
    };
    const stray = sleeper(owner.uid);
    const nobody = sleeper(65534);
    try {
      const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], { stdin: await encodeStream([]) });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain(`killed 1 process(es) that an interrupted run's stage left running as uid ${String(owner.uid)}`);
      expect(run.stderr).toContain('cleaned up after an interrupted run: staging.left01, staging.left02');
      expect(await stray.ended).toBe('SIGKILL');
      // a uid outside the dynamic range is nobody's stage: its process lives on
      expect(nobody.child.exitCode).toBeNull();
      expect(nobody.child.signalCode).toBeNull();
    } finally {
      stray.child.kill('SIGKILL');
      nobody.child.kill('SIGKILL');
    }
  });

  it('gives the staged files back to root, read-only to others, before they are checked and published', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    const stream = await encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path))));
    const receiver = await startPausedAt('after-stage', ['receive', '--updates-dir', dir, ...(await keyringArgs())], stream);
    try {
      const staging = join(dir, (await readdir(dir)).find((n) => n.startsWith('staging.')) ?? 'missing');
      const st = await lstat(staging);
      expect([st.uid, st.gid, st.mode & 0o777]).toEqual([0, 0, 0o700]);
      const files = await readdir(staging);
      expect(files.sort()).toEqual(f.packages.v1.map((p) => p.fileName).sort());
      for (const name of files) {
        const fst = await lstat(join(staging, name));
        expect([fst.uid, fst.gid, fst.mode & 0o777]).toEqual([0, 0, 0o644]);
      }
      // the stage is gone: no child of the receiver runs as a stage uid (what the stage uid leaves
      // running elsewhere is reaping's, tested below under 'reaping the stage uid')
      const children = [];
      for (const entry of (await readdir('/proc')).filter((e) => /^\d+$/.test(e))) {
        const s = await statusOf(Number(entry)).catch(() => undefined);
        if (s?.ppid === receiver.pid) children.push(s);
      }
      expect(children.filter((c) => inDynamicRange(c.uid))).toEqual([]);
    } finally {
      await receiver.kill();
    }
  });

  it("gets none of the receiver's environment but the test hooks it is given", async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    const stream = await encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path))));
    const child = spawn(process.execPath, [BUNDLE, 'receive', '--updates-dir', dir, ...(await keyringArgs())], {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        DOM0_RECEIVER_TEST_HOOKS: '1',
        DOM0_RECEIVER_TEST_PAUSE: 'stage-after-member',
        // what dom0's service environment may hold; the stage parses hostile bytes and needs none of it
        DOM0_UPDATES_UPDATEVM: 'sys-firewall',
      },
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(stream);
    const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (t: string) => {
          stderr += t;
          if (stderr.includes('test pause at stage-after-member')) resolve();
        });
        void closed.then(() => reject(new Error(`receiver ended before the stage paused: ${stderr}`)));
      });
      const environments: string[][] = [];
      for (const entry of (await readdir('/proc')).filter((e) => /^\d+$/.test(e))) {
        const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
        if (!cmdline.includes('\0__stage') || !cmdline.includes(`--allow-fs-write=${dir}/staging.`)) continue;
        const environ = await readFile(`/proc/${entry}/environ`, 'utf8');
        environments.push(environ.split('\0').filter((v) => v !== '').map((v) => v.slice(0, v.indexOf('='))).sort());
      }
      expect(environments.length).toBeGreaterThan(0);
      // (bubblewrap's --chdir sets PWD)
      for (const names of environments) expect(names.filter((n) => n !== 'PWD')).toEqual(['DOM0_RECEIVER_TEST_HOOKS', 'DOM0_RECEIVER_TEST_PAUSE', 'MALLOC_ARENA_MAX']);
    } finally {
      child.kill('SIGKILL');
      await closed;
    }
  });

  it('is resolved to a dynamic id by default and to the passwd entry with --user', async () => {
    const dynamic = await resolveStageUser(undefined);
    expect(dynamic?.dynamic).toBe(true);
    expect(inDynamicRange(dynamic?.uid ?? 0)).toBe(true);
    expect(await passwdUids()).not.toContain(dynamic?.uid);
    expect(await resolveStageUser('nobody')).toEqual({ uid: 65534, gid: 65534, dynamic: false });
  });
});

describe('a --user override', () => {
  it('is refused as CONFIG_INVALID when its primary group is root (gid 0), before anything is read', async () => {
    // a private mount namespace whose /etc/passwd names such an account (as Fedora's `operator`)
    const work = await mkdtemp(join(tmpdir(), 'dom0-receiver-passwd-'));
    const passwd = join(work, 'passwd');
    await writeFile(passwd, `${await readFile('/etc/passwd', 'utf8')}opgroup:x:1234:0::/:/bin/false\n`);
    const dir = await makeUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, '--user', 'opgroup', ...(await keyringArgs())], {
      stdin: await encodeStream([]),
      prefix: ['unshare', '-m', 'sh', '-c', 'mount --bind "$0" /etc/passwd && exec "$@"', passwd],
    });
    expect(run.code).toBe(1);
    expect(replyError(run).code).toBe('CONFIG_INVALID');
    expect(run.stderr).toContain('CONFIG_INVALID: stage user opgroup must have a non-zero uid and gid');
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('reaping the stage uid', () => {
  /** A process tree of the given uid that would outlive the stage: a shell and a background sleep. */
  function leftBehind(uid: number): Promise<number> {
    const child = spawn('/bin/sh', ['-c', 'sleep 600 & echo $!; wait'], { uid, gid: uid, stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    return new Promise((resolve) => child.stdout.setEncoding('utf8').once('data', (t: string) => resolve(Number(t.trim()))));
  }

  it('kills a process of the stage uid still running when the stage ends, and publishes the batch', async () => {
    const dir = await makeUpdatesDir();
    // the sender pauses after the first member, while the stage runs as its dynamic uid
    const held = await receiveHeldAfterFirstMember(dir);
    const { staging } = held;
    // a process of the stage's uid (as one the stage could have left behind, holding a staged file)
    const uid = (await lstat(staging)).uid;
    expect(inDynamicRange(uid)).toBe(true);
    const sleeper = await leftBehind(uid);
    try {
      expect((await held.finish()).code).toBe(0);
      const state = await readFile(`/proc/${sleeper}/status`, 'utf8').then((t) => /^State:\s+(\S)/m.exec(t)?.[1], () => 'gone');
      expect(['gone', 'Z', 'X']).toContain(state);
    } finally {
      try {
        process.kill(sleeper, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  it('kills every process of a dynamic uid, background ones included, and none is left', async () => {
    const owner = await resolveStageUser(undefined);
    if (owner === undefined) throw new Error('the suite runs as root');
    const sleeper = await leftBehind(owner.uid);
    expect((await idsOfLiveProcesses()).pidsByUid.get(owner.uid)).toContain(sleeper);
    await reapStageUser(owner);
    expect((await idsOfLiveProcesses()).pidsByUid.get(owner.uid)).toBeUndefined();
  });

  /** A shell of the given uid that keeps starting background sleeps (bounded, so a failed test cannot leave it running). */
  function forking(uid: number): void {
    spawn('/bin/sh', ['-c', 'i=0; while [ $i -lt 3000 ]; do sleep 600 & i=$((i+1)); done; wait'], { uid, gid: uid, stdio: 'ignore', detached: true }).unref();
  }

  it.each([
    ['kill(1) from the PATH', '/usr/bin:/bin'],
    ['Node, when the PATH has no kill', '/nonexistent'],
  ])('the killer alone, %s, ends every process of a uid that keeps forking', async (_label, path) => {
    const owner = await resolveStageUser(undefined);
    if (owner === undefined) throw new Error('the suite runs as root');
    const command = await killerCommand({ PATH: path });
    expect(command[0]).toBe(path === '/nonexistent' ? process.execPath : '/usr/bin/kill');
    forking(owner.uid);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await idsOfLiveProcesses()).pidsByUid.get(owner.uid)?.length).toBeGreaterThan(1);
    // The killer gets all the time it needs: killAllOf's own deadline (1 s) bounds a killer that
    // what it came for stopped, and a loaded machine can take longer than that just to start Node,
    // which is then killed before it has killed anything (that is reapStageUser's to make up for,
    // with root's signals and another pass, and not what this test is about).
    await killAllOf(owner, command, 60_000);
    // kill(-1) reaches them all at once, but the kernel may still be tearing the last ones down
    for (let i = 0; i < 50 && (await idsOfLiveProcesses()).pidsByUid.has(owner.uid); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const left = (await idsOfLiveProcesses()).pidsByUid.get(owner.uid);
    await reapStageUser(owner);
    expect(left).toBeUndefined();
  });

  it('lists each process of a uid once, though its real, effective, saved and fs uid all name it', async () => {
    const owner = await resolveStageUser(undefined);
    if (owner === undefined) throw new Error('the suite runs as root');
    const sleeper = await leftBehind(owner.uid);
    expect((await idsOfLiveProcesses()).pidsByUid.get(owner.uid)?.filter((pid) => pid === sleeper)).toEqual([sleeper]);
    await reapStageUser(owner);
  });

  it('leaves the processes of a --user override alone (that account is shared)', async () => {
    const owner = await resolveStageUser(undefined);
    if (owner === undefined) throw new Error('the suite runs as root');
    const shared = { ...owner, dynamic: false };
    const sleeper = await leftBehind(shared.uid);
    await reapStageUser(shared);
    expect((await idsOfLiveProcesses()).pidsByUid.get(shared.uid)).toContain(sleeper);
    await reapStageUser(owner);
    expect((await idsOfLiveProcesses()).pidsByUid.get(owner.uid)).toBeUndefined();
  });
});
