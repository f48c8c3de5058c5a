// A compromised UpdateVM: it speaks the protocol's transport like the real agent (state stream in
// on stdin, the update stream out on fd 3, dom0's reply in on fd 4) but sends what an attacker
// would. dom0-update starts dom0's receiver itself, so the sender cannot choose its arguments.
import { fstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { FixturePackage, FixtureSet } from '@dom0-updates/fixtures';
import { endOfArchive, padding, rawHeader, rawMember } from './hostile/tar.ts';
import { HOSTILE_MODES, type HostileMode } from './hostile-modes.ts';


function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const inline = args.find((a) => a.startsWith(`${name}=`));
  return inline?.slice(name.length + 1);
}

async function members(pkgs: readonly FixturePackage[]): Promise<Buffer[]> {
  return Promise.all(pkgs.map(async (p) => rawMember(p.fileName, await readFile(p.path))));
}

/** Writes with backpressure; false once dom0 has closed the pipe (so flooding loops stop). */
function write(out: Writable, chunk: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    if (out.destroyed || out.writableEnded) {
      resolve(false);
      return;
    }
    if (out.write(chunk)) resolve(true);
    else {
      out.once('drain', () => resolve(true));
      out.once('close', () => resolve(false));
    }
  });
}

async function send(f: FixtureSet, mode: HostileMode, out: Writable, alive: () => boolean): Promise<void> {
  const upgrade = f.packages.v2.filter((p) => p.version === '2.0');
  switch (mode) {
    case 'unsigned':
      for (const m of await members(f.unsigned.filter((p) => p.version === '2.0'))) await write(out, m);
      break;
    case 'untrusted-key':
      for (const m of await members(f.untrusted.filter((p) => p.version === '2.0'))) await write(out, m);
      break;
    case 'tampered-payload': {
      const victim = upgrade[0];
      if (!victim) throw new Error('fixtures have no 2.0 package');
      const bytes = Buffer.from(await readFile(victim.path));
      const at = bytes.length - 7;
      bytes[at] = (bytes[at] ?? 0) ^ 0x01;
      await write(out, rawMember(victim.fileName, bytes));
      break;
    }
    case 'path-escape': {
      const victim = upgrade[0];
      if (!victim) throw new Error('fixtures have no 2.0 package');
      await write(out, rawMember(`../../${victim.fileName}`, await readFile(victim.path)));
      break;
    }
    case 'symlink':
      await write(out, rawHeader({ name: 'evil.rpm', size: 0, type: '2', linkname: '/etc/passwd' }));
      break;
    case 'hardlink':
      await write(out, rawHeader({ name: 'evil.rpm', size: 0, type: '1', linkname: '/etc/shadow' }));
      break;
    case 'truncated': {
      const victim = upgrade[0];
      if (!victim) throw new Error('fixtures have no 2.0 package');
      const bytes = await readFile(victim.path);
      await write(out, rawHeader({ name: victim.fileName, size: bytes.length }));
      await write(out, bytes.subarray(0, Math.floor(bytes.length / 2)));
      out.end();
      return;
    }
    case 'stall': {
      const victim = upgrade[0];
      if (!victim) throw new Error('fixtures have no 2.0 package');
      const bytes = await readFile(victim.path);
      await write(out, rawHeader({ name: victim.fileName, size: bytes.length }));
      await write(out, bytes.subarray(0, 100));
      // Never finish: dom0 must give up on its own.
      while (alive()) await new Promise((r) => setTimeout(r, 200));
      return;
    }
    case 'flood-bytes': {
      // A member far larger than any limit, then bytes for as long as dom0 keeps reading.
      await write(out, rawHeader({ name: 'flood.rpm', size: 8 * 1024 ** 3 }));
      const chunk = randomBytes(1 << 20);
      let sent = 0;
      while (alive() && sent < 16 * 1024 ** 3 && (await write(out, chunk))) sent += chunk.length;
      return;
    }
    case 'flood-members': {
      // Validly signed, correctly named members, then the same bytes under ever new names: only
      // the member cap stops it (the test sets MAX_FILES to the number of valid members).
      for (const m of await members(upgrade)) if (!(await write(out, m))) return;
      const [extra] = f.packages.extra;
      if (!extra) throw new Error('fixtures have no extra package');
      const body = await readFile(extra.path);
      for (let i = 0; alive() && i < 1_000_000; i += 1) {
        const member = Buffer.concat([rawHeader({ name: `flood-${String(i)}.rpm`, size: body.length }), body, padding(body.length)]);
        if (!(await write(out, member))) break;
      }
      return;
    }
    case 'weak-hash': {
      // Signed by a pinned key, but over SHA-1 (prepared by the scenario as `weakHashPath`).
      const weak = (f as FixtureSet & { weakHashPath?: string }).weakHashPath;
      const victim = upgrade[0];
      if (!weak || !victim) throw new Error('the scenario prepared no SHA-1 signed package');
      await write(out, rawMember(victim.fileName, await readFile(weak)));
      break;
    }
    case 'absolute-path': {
      const victim = upgrade[0];
      if (!victim) throw new Error('fixtures have no 2.0 package');
      await write(out, rawMember(`/var/lib/qubes/updates/${victim.fileName}`, await readFile(victim.path)));
      break;
    }
    case 'escape-in-name':
      // A name that would retitle and clear dom0's terminal if printed raw.
      await write(out, rawMember('\u001b]0;pwned\u0007\u001b[2Jx.rpm', Buffer.from('x')));
      break;
    case 'pax-header': {
      const victim = upgrade[0];
      if (!victim) throw new Error('fixtures have no 2.0 package');
      const record = Buffer.from('30 path=../../etc/cron.d/x.rpm\n');
      await write(out, Buffer.concat([rawHeader({ name: 'PaxHeader.rpm', size: record.length, type: 'x' }), record, padding(record.length)]));
      await write(out, rawMember(victim.fileName, await readFile(victim.path)));
      break;
    }
    case 'device':
      await write(out, rawHeader({ name: 'sda.rpm', size: 0, type: '4' }));
      break;
    case 'duplicate-name': {
      // The second copy of a name would replace a verified file after its check.
      const [first, second] = upgrade;
      if (!first || !second) throw new Error('fixtures have fewer than two 2.0 packages');
      await write(out, rawMember(first.fileName, await readFile(first.path)));
      await write(out, rawMember(first.fileName, await readFile(second.path)));
      break;
    }
    case 'trailing-garbage': {
      for (const m of await members(upgrade)) await write(out, m);
      await write(out, endOfArchive());
      await write(out, rawMember('late.rpm', Buffer.from('data after the end marker')));
      out.end();
      return;
    }
    case 'obsoletes': {
      // The real upgrades plus a validly signed package that obsoletes an installed one.
      for (const m of await members([...upgrade, ...f.packages.obsoleting])) await write(out, m);
      break;
    }
    case 'unrequested': {
      const extra = f.packages.extra;
      for (const m of await members([...upgrade, ...extra])) await write(out, m);
      break;
    }
  }
  await write(out, endOfArchive());
  out.end();
}

/** A pipe or socket from dom0-update; anything else (nothing at all in a check) is not. */
function isPipeFromDom0(fd: number): boolean {
  try {
    const stat = fstatSync(fd);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const mode = option(args, '--mode') ?? process.env['HOSTILE_MODE'];
  const fixturesFile = option(args, '--fixtures');
  if (!mode || !(HOSTILE_MODES as readonly string[]).includes(mode) || !fixturesFile) {
    process.stderr.write(`usage: hostile-agent --mode (${HOSTILE_MODES.join('|')}) --fixtures FIXTURES.json [run --transport fd ...]\n`);
    return 2;
  }
  process.stdin.resume(); // dom0's state stream: read and ignored
  process.stdout.write(`hostile sender: ${mode}\n`);
  // dom0-update opens the update stream (fd 3) and its reply (fd 4) only for a download
  if (!isPipeFromDom0(3) || !isPipeFromDom0(4)) {
    process.stderr.write('hostile sender: no update stream from dom0 (a --check-only run?): this stand-in for a compromised UpdateVM only sends batches\n');
    return 1;
  }
  const stream = new Socket({ fd: 3, readable: false, writable: true });
  const replyIn = new Socket({ fd: 4, readable: true, writable: false });
  stream.on('error', () => undefined);
  let closed = false;
  stream.on('close', () => {
    closed = true;
  });
  const reply: Buffer[] = [];
  replyIn.on('data', (c: Buffer) => reply.push(c));
  replyIn.on('error', () => undefined);
  // dom0 ends fd 4 once its receiver is done (or failed): the end of the exchange.
  const replied = new Promise<void>((resolve) => {
    replyIn.on('close', () => {
      closed = true;
      resolve();
    });
  });
  // The fixture set is the test's own (same keys), handed over as a file rather than rebuilt here.
  const fixtures = JSON.parse(await readFile(fixturesFile, 'utf8')) as FixtureSet;
  await send(fixtures, mode as HostileMode, stream, () => !closed).catch(() => undefined);
  await replied;
  process.stdout.write(Buffer.concat(reply));
  const text = Buffer.concat(reply).toString('utf8');
  return text.includes('"status":"accepted"') ? 0 : 1;
}

process.exitCode = await main();
process.exit();
