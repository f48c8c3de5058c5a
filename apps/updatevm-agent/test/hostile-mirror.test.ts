// The agent against a hostile mirror. The mirror is untrusted anyway (dom0 verifies every package),
// but a person still expects a true answer (never "no updates" when dnf found some), a clear error,
// and a bounded disk in the UpdateVM (on Qubes, dom0's UpdateVM is often sys-firewall).
import { createHash } from 'node:crypto';
import { access, copyFile, cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { startMirror } from '@dom0-updates/fixtures';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedReply, decodeCaptured } from './support/stream.ts';
import { agent, BUNDLE, CAPTURE_RECEIVER, makeWorld, syncedWorkdir, type World } from './support/world.ts';

let world: World;

beforeAll(async () => {
  world = await makeWorld();
});

afterAll(async () => {
  await world.close();
});

function receiver(out: string, reply = 'x'): string {
  return JSON.stringify([process.execPath, CAPTURE_RECEIVER, out, reply]);
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * A copy of the v2 repository whose primary metadata is `body` (named `-primary.xml.EXT`), its
 * entry in repomd.xml made to match: the checksum and size of `body`, and those of the XML inside
 * when given (without them, the entry has none).
 */
async function repoWithPrimary(name: string, body: Buffer, ext: string, xml?: Buffer): Promise<string> {
  const dir = join(world.dir, name);
  await cp(world.fixtures.repos.v2, dir, { recursive: true });
  const repodata = join(dir, 'repodata');
  const old = (await readdir(repodata)).find((n) => n.endsWith('-primary.xml.gz'));
  if (old === undefined) throw new Error('no primary.xml.gz');
  const fresh = `${sha256(body)}-primary.xml.${ext}`;
  await rm(join(repodata, old));
  await writeFile(join(repodata, fresh), body);
  const open = (block: string): string =>
    xml === undefined
      ? block.replace(/\s*<open-checksum type="sha256">[0-9a-f]+<\/open-checksum>/, '').replace(/\s*<open-size>\d+<\/open-size>/, '')
      : block
          .replace(/<open-checksum type="sha256">[0-9a-f]+<\/open-checksum>/, `<open-checksum type="sha256">${sha256(xml)}</open-checksum>`)
          .replace(/<open-size>\d+<\/open-size>/, `<open-size>${xml.length}</open-size>`);
  const repomd = (await readFile(join(repodata, 'repomd.xml'), 'utf8')).replace(/<data type="primary">[\s\S]*?<\/data>/, (block) =>
    open(
      block
        .replace(/<checksum type="sha256">[0-9a-f]+<\/checksum>/, `<checksum type="sha256">${sha256(body)}</checksum>`)
        .replace(/href="[^"]*"/, `href="repodata/${fresh}"`)
        .replace(/<size>\d+<\/size>/, `<size>${body.length}</size>`),
    ),
  );
  await writeFile(join(repodata, 'repomd.xml'), repomd);
  return dir;
}

/** A copy of the v2 repository whose primary.xml went through `edit`, its checksums in repomd.xml made to match. */
async function editedRepo(name: string, edit: (primary: string) => string): Promise<string> {
  const repodata = join(world.fixtures.repos.v2, 'repodata');
  const primary = (await readdir(repodata)).find((n) => n.endsWith('-primary.xml.gz'));
  if (primary === undefined) throw new Error('no primary.xml.gz');
  const xml = Buffer.from(edit(gunzipSync(await readFile(join(repodata, primary))).toString('utf8')));
  return await repoWithPrimary(name, gzipSync(xml), 'gz', xml);
}

/**
 * A primary.xml.zst that inflates to `size` bytes of one package's name: a zstd frame (RFC 8878)
 * of raw blocks around RLE blocks, each 4 bytes for 128 KiB of 'A'.
 */
function zstdBomb(size: number): Buffer {
  const block = (type: 'raw' | 'rle', length: number, last: boolean): Buffer => {
    const header = Buffer.alloc(3);
    header.writeUIntLE(length * 8 + (type === 'rle' ? 2 : 0) + (last ? 1 : 0), 0, 3);
    return header;
  };
  const head = Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" packages="1">\n<package type="rpm"><name>');
  const tail = Buffer.from('</name></package></metadata>\n');
  // magic, no content size or checksum, a 128 KiB window
  const parts = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38]), block('raw', head.length, false), head];
  for (let left = size; left > 0; left -= 128 * 1024) parts.push(block('rle', Math.min(left, 128 * 1024), false), Buffer.from('A'));
  parts.push(block('raw', tail.length, true), tail);
  return Buffer.concat(parts);
}

interface Hostility {
  /** a request for which this says yes gets a body that never ends (about 16 MiB/s) */
  readonly endless?: (path: string) => boolean;
  /** every request is redirected there */
  readonly redirect?: string;
  /** at the first request for which this says yes the mirror goes away: that connection is cut and no new one is taken */
  readonly vanish?: (path: string) => boolean;
  /** milliseconds to wait before answering a request (a slow mirror; the answer itself is right) */
  readonly delay?: (path: string) => number;
}

/** Serves `dir`, hostile as `how` says. */
async function hostileMirror(dir: string, how: Hostility): Promise<{ url: string; close(): Promise<void> }> {
  const { endless = () => false, redirect, vanish = () => false, delay = () => 0 } = how;
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    const wait = delay(path);
    if (wait > 0) setTimeout(() => answer(path, res), wait);
    else answer(path, res);
  });
  const answer = (path: string, res: ServerResponse): void => {
    if (vanish(path)) {
      server.close();
      server.closeAllConnections();
      return;
    }
    if (redirect !== undefined) {
      res.writeHead(302, { location: redirect });
      res.end();
      return;
    }
    if (endless(path)) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(512 * 1024, 0x41);
      const timer = setInterval(() => res.write(chunk), 30);
      res.on('close', () => clearInterval(timer));
      return;
    }
    const file = normalize(join(dir, path));
    void readFile(file).then(
      (body) => {
        res.writeHead(200, { 'content-length': body.length });
        res.end(body);
      },
      () => {
        res.writeHead(404);
        res.end();
      },
    );
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The bytes of the files under `dir`: 0 while it does not exist, a file that vanishes meanwhile not counted. */
async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  const gone = (error: unknown): boolean => (error as NodeJS.ErrnoException).code === 'ENOENT';
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch((error: unknown) => {
    if (gone(error)) return [];
    throw error;
  });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    total += await stat(join(entry.parentPath, entry.name)).then(
      (info) => info.size,
      (error: unknown) => {
        if (gone(error)) return 0;
        throw error;
      },
    );
  }
  return total;
}

/** The processes whose command line names `dir`: the agent and the dnf it runs name their workdir. */
async function processesUsing(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((n) => /^\d+$/.test(n))) {
    if ((await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).includes(dir)) found.push(pid);
  }
  return found;
}

/** Waits until no process runs with `dir` in its command line (within the test's own timeout). */
async function nothingRunsIn(dir: string): Promise<void> {
  while ((await processesUsing(dir)).length > 0) await new Promise((resolve) => setTimeout(resolve, 100));
}

describe('the agent against a hostile mirror', () => {
  it('does not say "no updates" when dnf resolved and downloaded updates whose files the mirror named without .rpm', async () => {
    const names = ['dom0-hello-2.0-1.noarch', 'dom0-libgreet-2.0-1.noarch', 'dom0-tool-2.0-1.noarch'];
    const dir = await editedRepo('no-rpm-suffix', (xml) => names.reduce((text, n) => text.replace(`href="${n}.rpm"`, `href="${n}.bin"`), xml));
    for (const n of names) await copyFile(join(dir, `${n}.rpm`), join(dir, `${n}.bin`));
    const mirror = await startMirror(dir);
    try {
      const workdir = await syncedWorkdir(world, 'no-rpm-suffix', mirror.url);
      const run = await agent(['download', '--workdir', workdir, '--receiver-command', receiver(join(world.dir, 'no-rpm-suffix.tar'))]);
      // dnf found 3 updates (a check-only run says so, exit 100): sending none is not "no updates"
      expect(run.stdout).not.toContain('no updates');
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain('cannot be sent: its name does not end in .rpm [BAD_PACKAGE_NAME]');
    } finally {
      await mirror.close();
    }
  });

  it('stops a package download that grows far past the size the repository metadata gives, instead of filling the disk until dom0 gives up', async () => {
    const mirror = await hostileMirror(world.fixtures.repos.v2, { endless: (path) => path.endsWith('dom0-hello-2.0-1.noarch.rpm') });
    try {
      const workdir = await syncedWorkdir(world, 'endless-package', mirror.url);
      // the metadata says 6 KiB; 30 s of this body is about 500 MiB
      const run = await execa(process.execPath, [BUNDLE, 'download', '--workdir', workdir, '--receiver-command', receiver(join(world.dir, 'endless.tar'))], {
        reject: false,
        env: {},
        stdin: 'ignore',
        timeout: 30_000,
      });
      expect(run.timedOut).toBe(false);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(/the mirror sent .* where dnf's transaction gives .* in all: a package body without end .*\[PACKAGE_DOWNLOAD_FAILED\]/);
    } finally {
      await mirror.close();
    }
  }, 60_000);

  it('leaves no partial metadata in its cache when a run is stopped during an endless repomd.xml', async () => {
    const mirror = await hostileMirror(world.fixtures.repos.v2, { endless: (path) => path.endsWith('repomd.xml') });
    try {
      const workdir = await syncedWorkdir(world, 'endless-repomd', mirror.url);
      const child = execa(process.execPath, [BUNDLE, 'download', '--workdir', workdir, '--check-only'], { reject: false, env: {}, stdin: 'ignore' });
      // SIGTERM once dnf is well into the endless repomd.xml (its partial file over the bound
      // checked below), not after a fixed time: on a loaded machine dnf may not even have made
      // the cache yet after seconds (waited for within the test's own timeout)
      const cache = join(workdir, 'cache');
      while ((await sizeOf(cache)) <= 4 * 1024 * 1024) {
        if (child.exitCode !== null) throw new Error(`the agent ended before dnf downloaded the endless repomd.xml: ${(await child).stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      child.kill('SIGTERM');
      const run = await child;
      expect(run.exitCode).toBe(143);
      // dom0 stops a run at its deadline; each stopped run must not leave its partial download behind,
      // or a mirror fills the UpdateVM's disk one run at a time
      expect(await sizeOf(cache)).toBeLessThan(4 * 1024 * 1024);
    } finally {
      await mirror.close();
    }
  }, 60_000);

  it.each(['repomd.xml', 'primary.xml.gz'])(
    "stops dnf when a mirror's %s never ends, once dnf's metadata cache has grown past the limit (REPO_METADATA_TOO_LARGE), and leaves nothing behind",
    async (file) => {
      const mirror = await hostileMirror(world.fixtures.repos.v2, { endless: (path) => path.endsWith(file) });
      try {
        const workdir = await syncedWorkdir(world, `endless-${file}`, mirror.url);
        const limit = 8 * 1024 * 1024;
        const args = ['download', '--workdir', workdir, '--max-metadata-bytes', String(limit), '--receiver-command', receiver(join(world.dir, `endless-${file}.tar`))];
        const child = execa(process.execPath, [BUNDLE, ...args], { reject: false, env: {}, stdin: 'ignore' });
        let ended = false;
        void child.finally(() => {
          ended = true;
        });
        // the most the cache held while the agent ran, as often as the test can look
        let peak = 0;
        const cache = join(workdir, 'cache');
        while (!ended) {
          peak = Math.max(peak, await sizeOf(cache));
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const run = await child;
        expect(run.exitCode).toBe(1);
        expect(run.stderr).toMatch(
          /error: repository 'fixture' served more metadata than the agent allows: dnf's metadata cache grew by [\d.]+ MiB in one dnf call, over the limit of 8\.0 MiB .*; dnf was stopped\..* raise --max-metadata-bytes in the UpdateVM \[REPO_METADATA_TOO_LARGE\]$/,
        );
        // it grows at about 16 MiB/s and is looked at every second; without the limit it grows until the test's timeout
        expect(peak).toBeGreaterThan(limit);
        expect(peak).toBeLessThan(256 * 1024 * 1024);
        await nothingRunsIn(workdir);
        // the partial download is gone with the run, and so is the run's download directory
        expect(await sizeOf(cache)).toBeLessThan(limit);
        expect(await readdir(join(workdir, 'runs'))).toEqual([]);
      } finally {
        await mirror.close();
      }
    },
  );

  it("counts only what the cache grows by in a run: what earlier runs left there, over the limit, fails nothing", async () => {
    // slow to answer for repomd.xml: dnf's first call lasts past the cache's first counts
    const mirror = await hostileMirror(world.fixtures.repos.v2, { delay: (path) => (path.endsWith('repomd.xml') ? 2500 : 0) });
    try {
      const workdir = await syncedWorkdir(world, 'old-cache', mirror.url);
      // a repository an earlier sync had, four times the limit
      const old = join(workdir, 'cache', 'gone-0123456789abcdef', 'repodata');
      await mkdir(old, { recursive: true });
      await writeFile(join(old, 'primary.xml'), Buffer.alloc(4 * 1024 * 1024));
      const out = join(world.dir, 'old-cache.tar');
      const v2 = world.fixtures.packages.v2;
      const run = await agent(['download', '--workdir', workdir, '--max-metadata-bytes', String(1024 * 1024), '--receiver-command', receiver(out, await acceptedReply(world.fixtures, v2))]);
      expect(run.stderr).not.toContain('REPO_METADATA_TOO_LARGE');
      expect(run.exitCode).toBe(0);
    } finally {
      await mirror.close();
    }
  });

  it("stops dnf when a mirror's primary.xml inflates past the memory limit (a zstd bomb of a few KiB), as DNF_OUT_OF_MEMORY", async () => {
    // 1 GiB of a package name: without a limit dnf takes over 3 GiB of memory to read it, and succeeds
    const bomb = zstdBomb(1024 ** 3);
    expect(bomb.length).toBeLessThan(64 * 1024);
    const mirror = await startMirror(await repoWithPrimary('zstd-bomb', bomb, 'zst'));
    try {
      const workdir = await syncedWorkdir(world, 'zstd-bomb', mirror.url);
      const args = ['download', '--workdir', workdir, '--max-dnf-memory', String(512 * 1024 * 1024), '--receiver-command', receiver(join(world.dir, 'zstd-bomb.tar'))];
      const run = await agent(args);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(/error: dnf ran out of memory under the agent's limit of 512\.0 MiB and ended there: .* raise --max-dnf-memory in the UpdateVM \[DNF_OUT_OF_MEMORY\]$/m);
      // libsolv's own words come with it
      expect(run.stderr).toMatch(/^ +Out of memory allocating \d+ bytes!$/m);
      expect(run.stdout).not.toContain('no updates');
      await nothingRunsIn(workdir);
      expect(await readdir(join(workdir, 'runs'))).toEqual([]);
    } finally {
      await mirror.close();
    }
  });

  it('reports a dnf that crashed (librepo abort on a repomd.xml location with ..) as a dnf failure, not as "could not be run"', async () => {
    const dir = join(world.dir, 'dotdot-repomd');
    await cp(world.fixtures.repos.v2, dir, { recursive: true });
    const repomd = join(dir, 'repodata', 'repomd.xml');
    await writeFile(repomd, (await readFile(repomd, 'utf8')).replace(/href="repodata\/([0-9a-f]+-primary\.xml\.gz)"/, 'href="../../../../../../x/$1"'));
    const mirror = await startMirror(dir);
    try {
      const workdir = await syncedWorkdir(world, 'dotdot-repomd', mirror.url);
      const run = await agent(['download', '--workdir', workdir, '--check-only']);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).not.toContain('could not be run');
      expect(run.stderr).not.toContain('[DNF_SPAWN_FAILED]');
      expect(run.stderr).toContain('dnf was killed by SIGABRT');
      expect(run.stderr).toContain('[DNF_FAILED]');
    } finally {
      await mirror.close();
    }
  });

  it('says the mirror could not be reached when it goes away after the metadata, naming the curl error, not that it served bad packages', async () => {
    const mirror = await hostileMirror(world.fixtures.repos.v2, { vanish: (path) => path.endsWith('.rpm') });
    try {
      const workdir = await syncedWorkdir(world, 'vanishing-mirror', mirror.url);
      const run = await agent(['download', '--workdir', workdir, '--receiver-command', receiver(join(world.dir, 'vanishing.tar'))]);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(/error: the mirror could not be reached, or the connection to it failed, while downloading updates: .* \(curl error (7|52|56)\)/);
      expect(run.stderr).toContain('[REPO_UNREACHABLE]');
      expect(run.stderr).not.toContain('missing there');
    } finally {
      await mirror.close();
    }
  });

  it('holds: a mirror that redirects to file:// makes dnf read no file of the UpdateVM (REPO_UNREACHABLE)', async () => {
    const local = join(world.dir, 'local-repo');
    await cp(world.fixtures.repos.v2, local, { recursive: true });
    const mirror = await hostileMirror(world.fixtures.repos.v2, { redirect: `file://${local}/repodata/repomd.xml` });
    try {
      const workdir = await syncedWorkdir(world, 'redirect-file', mirror.url);
      const run = await agent(['download', '--workdir', workdir, '--check-only']);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain('[REPO_UNREACHABLE]');
      expect(run.stdout).not.toContain('updates available');
    } finally {
      await mirror.close();
    }
  });

  it('holds: package locations with ../ or an absolute path land in the run directory by base name, nothing outside it', async () => {
    const escape = join(world.dir, 'escaped');
    const dir = await editedRepo('escaping-locations', (xml) =>
      xml
        .replace('href="dom0-hello-2.0-1.noarch.rpm"', `href="../../../../../../../..${escape}/dom0-hello-2.0-1.noarch.rpm"`)
        .replace('href="dom0-tool-2.0-1.noarch.rpm"', `href="${escape}-abs/dom0-tool-2.0-1.noarch.rpm"`),
    );
    // where the mirror finds them once curl has resolved the dot segments
    for (const [sub, file] of [[escape, 'dom0-hello-2.0-1.noarch.rpm'], [`${escape}-abs`, 'dom0-tool-2.0-1.noarch.rpm']] as const) {
      await mkdir(join(dir, sub), { recursive: true });
      await copyFile(join(dir, file), join(dir, sub, file));
    }
    const mirror = await hostileMirror(dir, {});
    try {
      const workdir = await syncedWorkdir(world, 'escaping-locations', mirror.url);
      const out = join(world.dir, 'escaping-locations.tar');
      const run = await agent(['download', '--workdir', workdir, '--receiver-command', receiver(out, await acceptedReply(world.fixtures, world.fixtures.packages.v2))]);
      expect(run.exitCode).toBe(0);
      expect([...(await decodeCaptured(out)).keys()].sort()).toEqual(['dom0-hello-2.0-1.noarch.rpm', 'dom0-libgreet-2.0-1.noarch.rpm', 'dom0-tool-2.0-1.noarch.rpm']);
      await expect(access(escape)).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(access(`${escape}-abs`)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await mirror.close();
    }
  });
});
