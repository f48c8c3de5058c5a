// What dom0 sends the (hostile) UpdateVM in the state-sync stream: dom0's rpm database, repo
// files, dnf.conf and repository keys, and nothing else of dom0's. A dom0 holds things the
// reference (Qubes' tar of these paths) never meets in a test: Fedora's fedora-gpg-keys installs
// RPM-GPG-KEY-fedora-N-<arch> as symlinks to RPM-GPG-KEY-fedora-N-primary in /etc/pki/rpm-gpg, an
// admin may link a repo file from elsewhere, and a mistyped RPMDB_PATH names some other directory.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type UpdateRequest } from '@dom0-updates/protocol';
import type { Config } from '../src/config.ts';
import { collectStateFiles, requireRpmdb } from '../src/state-files.ts';
import { encodeState } from '../src/state-sync.ts';

let dir: string;
let root: string;
let config: Config;

const REQUEST: UpdateRequest = { protocol: PROTOCOL_VERSION, action: 'upgrade', packages: [], enableRepos: [], disableRepos: [], clean: false, dnfOptions: [] };

const SECRET = 'dom0-secret-0123456789-must-never-leave-dom0';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dom0-cli-state-files-'));
  root = join(dir, 'root');
  for (const sub of ['var/lib/rpm', 'etc/yum.repos.d', 'etc/dnf', 'etc/pki/rpm-gpg', 'root']) mkdirSync(join(root, sub), { recursive: true });
  writeFileSync(join(root, 'var/lib/rpm/rpmdb.sqlite'), 'SQLite format 3\0');
  writeFileSync(join(root, 'etc/yum.repos.d/fedora.repo'), '[fedora]\nbaseurl=http://mirror.invalid/\ngpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-37-x86_64\n');
  writeFileSync(join(root, 'etc/dnf/dnf.conf'), '[main]\ngpgcheck=1\n');
  writeFileSync(join(root, 'etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-37-primary'), '-----BEGIN PGP PUBLIC KEY BLOCK-----\nfedora\n');
  writeFileSync(join(root, 'root/secret.txt'), SECRET);
  config = {
    dom0Root: root,
    rpmdbPath: '/var/lib/rpm',
    reposDir: join(root, 'etc/yum.repos.d'),
    keysDir: join(root, 'etc/pki/rpm-gpg'),
    dnfConf: join(root, 'etc/dnf/dnf.conf'),
  } as Config;
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Encodes dom0's state as a run does; the bytes that left dom0, and the error if the send failed. */
async function send(): Promise<{ bytes: Buffer; error: unknown }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  let error: unknown;
  try {
    await encodeState(REQUEST, collectStateFiles(config).files, out);
  } catch (caught) {
    error = caught;
  }
  return { bytes: Buffer.concat(chunks), error };
}

/** The member names of a ustar stream (tar itself reads what was sent). */
function members(bytes: Buffer): string[] {
  const file = join(dir, 'sent.tar');
  writeFileSync(file, bytes);
  return execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe("dom0's state for the UpdateVM", () => {
  it("sends a key that is a symlink to another key of KEYS_DIR (Fedora's RPM-GPG-KEY-fedora-N-<arch>), and the whole state", async () => {
    symlinkSync('RPM-GPG-KEY-fedora-37-primary', join(root, 'etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-37-x86_64'));
    const { bytes, error } = await send();
    expect(error).toBeUndefined();
    expect(members(bytes)).toContain('dnf/dnf.conf');
    // the repo file names the arch link: without it, the UpdateVM's dnf cannot check signatures
    expect(members(bytes)).toContain('rpm-gpg/RPM-GPG-KEY-fedora-37-x86_64');
  });

  it('never sends the bytes of a repo file, key or dnf.conf that links outside its directory', async () => {
    symlinkSync(join(root, 'root/secret.txt'), join(root, 'etc/yum.repos.d/linked.repo'));
    symlinkSync(join(root, 'root/secret.txt'), join(root, 'etc/pki/rpm-gpg/RPM-GPG-KEY-linked'));
    rmSync(join(root, 'etc/dnf/dnf.conf'));
    symlinkSync(join(root, 'root/secret.txt'), join(root, 'etc/dnf/dnf.conf'));
    const { bytes, error } = await send();
    expect(error).toBeUndefined();
    expect(bytes.includes(Buffer.from(SECRET))).toBe(false);
    // each is named, so the run can say what it left out
    expect(collectStateFiles(config).linksOut.map((link) => link.split(' -> ')[0])).toEqual([
      join(root, 'etc/yum.repos.d/linked.repo'),
      join(root, 'etc/pki/rpm-gpg/RPM-GPG-KEY-linked'),
      join(root, 'etc/dnf/dnf.conf'),
    ]);
  });

  it('says when KEYS_DIR is missing or holds no key file, and not when it holds one', () => {
    expect(collectStateFiles(config).noKeys).toBe(false);
    expect(collectStateFiles({ ...config, keysDir: join(root, 'etc/pki/rpm-gpg-typo') }).noKeys).toBe(true);
    expect(collectStateFiles({ ...config, keysDir: join(root, 'etc/yum.repos.d') }).noKeys).toBe(true);
  });

  it('leaves out a FIFO named like a repo file instead of blocking on it', async () => {
    execFileSync('mkfifo', [join(root, 'etc/yum.repos.d/fifo.repo')]);
    const { bytes, error } = await send();
    expect(error).toBeUndefined();
    expect(members(bytes)).not.toContain('yum.repos.d/fifo.repo');
  }, 10_000);

  it('finds no rpm database in an RPMDB_PATH that holds none (STATE_NO_RPMDB), and sends none of its files', () => {
    // a mistyped RPMDB_PATH naming a directory of other files: /etc, /root, a backup directory
    const etc = join(root, 'etc');
    writeFileSync(join(etc, 'shadow'), SECRET);
    config = { ...config, rpmdbPath: '/etc' };
    expect(() => requireRpmdb(config)).toThrow(expect.objectContaining({ code: 'STATE_NO_RPMDB' }) as Error);
    let files: readonly { name: string }[] = [];
    try {
      files = collectStateFiles(config).files;
    } catch {
      // refused: nothing is sent
    }
    expect(files.map((f) => f.name)).not.toContain('rpmdb/shadow');
  });
});
