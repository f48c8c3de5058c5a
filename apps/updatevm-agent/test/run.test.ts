import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { UpdateRequest } from '@dom0-updates/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { acceptedReply, decodeCaptured, encodeState } from './support/stream.ts';
import { agentOverFds } from './support/fd-dom0.ts';
import { agent, CAPTURE_RECEIVER, dom0StateFiles, makeWorld, type World } from './support/world.ts';

let world: World;

beforeAll(async () => {
  world = await makeWorld();
});

afterAll(async () => {
  await world.close();
});

/** dom0's state-sync stream, made with the protocol's own encoder from the dom0 root. */
async function stateStream(request: Partial<UpdateRequest>): Promise<Buffer> {
  const files = [];
  for await (const f of dom0StateFiles(world.dom0)) {
    const parts: Uint8Array[] = [];
    for await (const chunk of f.body) parts.push(chunk);
    files.push({ name: f.path, bytes: Buffer.concat(parts) });
  }
  return encodeState(request, files);
}

describe('run: state and request from dom0 on stdin', () => {
  it('lays out the installroot, rewrites key paths, downloads and sends the upgrade', async () => {
    const workdir = join(world.dir, 'run-upgrade');
    const out = join(world.dir, 'run-upgrade.tar');
    const v2 = world.fixtures.packages.v2;
    const receiver = JSON.stringify([process.execPath, CAPTURE_RECEIVER, out, await acceptedReply(world.fixtures, v2)]);
    const run = await agent(['run', '--workdir', workdir, '--transport', 'local', '--receiver-command', receiver], {
      input: await stateStream({}),
    });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/state: received \d+ files/);
    expect([...(await decodeCaptured(out)).keys()].sort()).toEqual(v2.map((p) => p.fileName).sort());

    const repo = await readFile(join(workdir, 'root', 'etc', 'yum.repos.d', 'fixture.repo'), 'utf8');
    expect(repo).toContain(`gpgkey=file://${join(workdir, 'root')}/etc/pki/rpm-gpg/RPM-GPG-KEY-fixture-1`);
    expect(await readFile(join(workdir, 'home', '.rpmmacros'), 'utf8')).toBe('%_dbpath /var/lib/rpm\n');
    expect((await readdir(join(workdir, 'root', 'var', 'lib', 'rpm'))).sort()).toContain('rpmdb.sqlite');
  });

  it('--transport fd: writes the update stream to fd 3 and reports the reply read from fd 4', async () => {
    const v2 = world.fixtures.packages.v2;
    const run = await agentOverFds(['run', '--workdir', join(world.dir, 'run-fd'), '--transport', 'fd'], {
      input: await stateStream({}),
      reply: await acceptedReply(world.fixtures, v2),
    });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    const out = join(world.dir, 'run-fd.tar');
    await writeFile(out, run.stream);
    expect([...(await decodeCaptured(out)).keys()].sort()).toEqual(v2.map((p) => p.fileName).sort());
    expect(run.stdout).toContain(`dom0 accepted ${v2.length} package(s)`);
  });

  it('--transport fd: a reply channel dom0 closes without a word is a transport failure (125)', async () => {
    const run = await agentOverFds(['run', '--workdir', join(world.dir, 'run-fd-noreply'), '--transport', 'fd'], {
      input: await stateStream({}),
      reply: undefined,
    });
    expect(run.exitCode).toBe(125);
    expect(run.stderr).toContain('[NO_REPLY]');
    expect(run.stream.length).toBeGreaterThan(1024);
  });

  it('--transport fd: sends nothing at all on fd 3 when there is nothing to update', async () => {
    const run = await agentOverFds(['run', '--workdir', join(world.dir, 'run-fd-none'), '--transport', 'fd'], {
      input: await stateStream({ action: 'install', packages: ['dom0-hello-1.0'] }),
      reply: 'never read',
    });
    expect(run.exitCode).toBe(0);
    expect(run.stream.length).toBe(0);
  });

  it('--transport fd without the descriptors says it needs dom0-update (125) before dnf downloads anything', async () => {
    // fds 3 and 4 not passed: Node's own epoll instance and wake-up pipe take those numbers
    const run = await agent(['run', '--workdir', join(world.dir, 'run-fd-missing'), '--transport', 'fd'], {
      input: await stateStream({ action: 'install', packages: ['dom0-hello-1.0'] }),
    });
    expect(run.exitCode).toBe(125);
    expect(run.stderr).toContain('TRANSPORT_NO_FDS');
    expect(run.stderr).toContain('nothing was downloaded');
    expect(`${run.stdout}${run.stderr}`).not.toMatch(/dom0-hello-1\.0-1\.noarch\.rpm|downloading/i);
  });

  it('follows the request: check-only from request.json exits 100', async () => {
    const run = await agent(['run', '--workdir', join(world.dir, 'run-check'), '--receiver-command', '["false"]'], {
      input: await stateStream({ action: 'check-only' }),
    });
    expect(run.exitCode).toBe(100);
    expect(run.stdout).toContain('updates available');
  });

  it('refuses a request whose dnf option would move where dnf writes', async () => {
    const run = await agent(['run', '--workdir', join(world.dir, 'run-setopt'), '--receiver-command', '["false"]'], {
      input: await stateStream({ dnfOptions: ['--setopt=cachedir=/tmp/elsewhere'] }),
    });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('DNF_OPTION_NOT_ALLOWED');
  });

  it('refuses a state stream that breaks the protocol and keeps no half-written root', async () => {
    const workdir = join(world.dir, 'run-bad');
    const good = await stateStream({});
    // Cut the stream short: the strict decoder must notice the missing end marker.
    const run = await agent(['sync-state', '--workdir', workdir], { input: good.subarray(0, good.length - 2048) });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/state stream was refused.*\[TAR_/);
    expect((await readdir(workdir)).filter((n) => n.startsWith('root'))).toEqual([]);
  });

  it('sync-state then download: a person can run the steps separately', async () => {
    const workdir = join(world.dir, 'run-steps');
    const sync = await agent(['sync-state', '--workdir', workdir, '--json-progress'], { input: await stateStream({}) });
    expect(sync.exitCode).toBe(0);
    expect(sync.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown).at(-1)).toEqual({ stage: 'done', result: 'synced' });
    const check = await agent(['download', '--workdir', workdir, '--check-only']);
    expect(check.exitCode).toBe(100);
  });
});
