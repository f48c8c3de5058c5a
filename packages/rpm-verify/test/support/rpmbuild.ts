/** Test-only: builds packages from a spec with the real rpmbuild and signs copies with rpmsign. */
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Builds `spec` under `work` and returns the path of the one binary package it makes. */
export async function rpmbuild(work: string, id: string, spec: string, defines: Readonly<Record<string, string>> = {}, extraArgs: readonly string[] = []): Promise<string> {
  const top = join(work, `top-${id}`);
  await mkdir(top, { recursive: true });
  const specPath = join(work, `${id}.spec`);
  await writeFile(specPath, spec);
  // an rpm database of its own, not Debian's default ~/.rpmdb in the user's home
  const args = Object.entries({ _topdir: top, _dbpath: join(top, 'rpmdb'), ...defines }).flatMap(([k, v]) => ['--define', `${k} ${v}`]);
  await run('rpmbuild', [...args, ...extraArgs, '-bb', specPath], { maxBuffer: 16 * 1024 * 1024 });
  const dir = join(top, 'RPMS', 'noarch');
  const built = await readdir(dir);
  if (built.length !== 1 || built[0] === undefined) throw new Error(`rpmbuild made ${built.length} packages for ${id}`);
  return join(dir, built[0]);
}

/** Copies `source` to `target` and signs the copy (header-only v4 signature) with a fixture key. */
export async function signedCopy(source: string, target: string, key: { gnupgHome: string; fingerprint: string }): Promise<string> {
  const home = `${target}.gnupg`;
  await cp(key.gnupgHome, home, { recursive: true, filter: (src) => !basename(src).startsWith('S.') });
  await cp(source, target);
  const env = { ...process.env, GNUPGHOME: home };
  try {
    await run('rpmsign', ['--define', '__gpg /usr/bin/gpg', '--define', `_gpg_name ${key.fingerprint}`, '--addsign', target], { env });
  } finally {
    await run('gpgconf', ['--kill', 'gpg-agent'], { env }).catch(() => undefined);
  }
  return target;
}

/** Byte count of the uncompressed payload, as rpm2cpio writes it out. */
export async function rpm2cpioBytes(path: string): Promise<number> {
  const child = spawn('rpm2cpio', [path], { stdio: ['ignore', 'pipe', 'inherit'] });
  let bytes = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`rpm2cpio ${path} exited ${String(code)}`);
  return bytes;
}
