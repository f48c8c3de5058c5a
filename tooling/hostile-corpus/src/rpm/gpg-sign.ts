import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { FixtureKey } from '@dom0-updates/fixtures';
import { runProcess } from '../harness/process.ts';

export interface DetachedSignOptions {
  /** gpg's --digest-algo name, e.g. SHA256, SHA1, MD5, RIPEMD160. */
  digest?: string;
  /** gpg's --faked-system-time: the signature's creation time. */
  time?: string;
  /** A canonical-text signature (type 0x01) instead of a binary one. */
  textmode?: boolean;
  /** More gpg options, e.g. ['--sig-notation', '!x@example.invalid=y']. */
  extraArgs?: readonly string[];
}

/**
 * A real detached OpenPGP signature by a fixture key over `data`, made by gpg itself (not by
 * rpmsign, which would refuse to sign a header it cannot read). Runs from a private copy of the
 * key's home, so concurrent signers never share an agent.
 */
export async function gpgDetachSign(data: Uint8Array, key: FixtureKey, options: DetachedSignOptions = {}): Promise<Uint8Array> {
  // short path: the agent's socket must fit in 108 bytes
  const work = await mkdtemp(join(tmpdir(), 'hc-gpg-'));
  const home = join(work, 'h');
  const env = { GNUPGHOME: home };
  try {
    await cp(key.gnupgHome, home, { recursive: true, filter: (src) => !basename(src).startsWith('S.') });
    await writeFile(join(work, 'data'), data);
    const result = await runProcess('gpg', [
      '--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '',
      '--faked-system-time', options.time ?? '20240102T000000!',
      '--digest-algo', options.digest ?? 'SHA256',
      '--local-user', key.fingerprint,
      ...(options.textmode === true ? ['--textmode'] : []),
      ...(options.extraArgs ?? []),
      '--output', join(work, 'sig'), '--detach-sign', join(work, 'data'),
    ], { env });
    if (result.exitCode !== 0) throw new Error(`gpg --detach-sign failed: ${new TextDecoder().decode(result.stderr)}`);
    return new Uint8Array(await readFile(join(work, 'sig')));
  } finally {
    await runProcess('gpgconf', ['--kill', 'gpg-agent'], { env });
    await rm(work, { recursive: true, force: true });
  }
}
