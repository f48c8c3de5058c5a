/**
 * dom0's dnf checks every package's signature with rpm, against the keys in dom0's rpm database,
 * and imports a missing key from the KEYRING files (the cached repository's gpgkey). The receiver's
 * parser reads a key file as rpm 4.18's own parser does (rpm-verify's rpm-key-import.ts), but dom0's
 * rpm may be another version, or built with another OpenPGP backend (rpm-sequoia), and an emulation
 * can miss a case. Such a key would let the receiver publish packages that dnf refuses at the very
 * end, after the whole download, with "Key import failed (code 2)". So before the UpdateVM is asked
 * for anything, each KEYRING file must import into a scratch rpm database with dom0's own rpmkeys,
 * unless its keys are already in dom0's.
 */
import { rm } from 'node:fs/promises';
import { execa } from 'execa';
import { sanitizeForTerminal } from '@dom0-updates/protocol';
import { loadKeyring, readKeyFile } from '@dom0-updates/rpm-verify';
import { ConfigError, printable } from './errors.ts';
import { makeRunTempDir } from './run-temp-dirs.ts';

/** The key ID rpm names an imported key by (`gpg-pubkey-<id>`): the last 8 hex digits of the key ID. */
function rpmKeyName(fingerprint: string): string {
  // a v4 key ID is the fingerprint's last 16 digits, a v6 key ID its first 16
  const keyId = fingerprint.length === 64 ? fingerprint.slice(0, 16) : fingerprint.slice(-16);
  return `gpg-pubkey-${keyId.slice(-8).toLowerCase()}`;
}

type TrialImport = { readonly kind: 'imported' } | { readonly kind: 'refused'; readonly said: string } | { readonly kind: 'no-rpmkeys' };

/** Imports the file into a scratch rpm database; `said` is rpmkeys' first line when it refused. */
async function trialImport(keyFile: string): Promise<TrialImport> {
  const scratch = makeRunTempDir('keycheck');
  try {
    const result = await execa('rpmkeys', ['--dbpath', scratch, '--import', keyFile], { reject: false, stdin: 'ignore', all: true, env: { LC_ALL: 'C' } });
    if (result.code === 'ENOENT') return { kind: 'no-rpmkeys' };
    if (result.exitCode === 0) return { kind: 'imported' };
    const said = typeof result.all === 'string' ? (result.all.trim().split('\n')[0] ?? '') : '';
    return { kind: 'refused', said: said === '' ? `exit ${String(result.exitCode)}` : said };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function inRpmDatabase(name: string, dom0Root: string, rpmdbPath: string): Promise<boolean> {
  const result = await execa('rpm', ['--root', dom0Root, '--dbpath', rpmdbPath, '-q', name], { reject: false, stdin: 'ignore', env: { LC_ALL: 'C' } });
  return result.exitCode === 0;
}

/** Throws CONFIG_KEYRING_INVALID for a KEYRING file dom0's dnf could not use. */
export async function checkRpmCanImport(keyFiles: readonly string[], dom0Root: string, rpmdbPath: string): Promise<void> {
  for (const keyFile of keyFiles) {
    const trial = await trialImport(keyFile);
    // without rpmkeys there is no rpm to disagree with (and no dnf install either)
    if (trial.kind === 'no-rpmkeys') return;
    if (trial.kind === 'imported') continue;
    const { fingerprints } = await loadKeyring([readKeyFile(keyFile)], [keyFile]);
    for (const fingerprint of fingerprints) {
      if (await inRpmDatabase(rpmKeyName(fingerprint), dom0Root, rpmdbPath)) continue;
      throw new ConfigError(
        'CONFIG_KEYRING_INVALID',
        `rpm cannot import KEYRING ${printable(keyFile)} (rpmkeys: ${sanitizeForTerminal(trial.said, 200)}), and dom0's rpm database does not hold its key ${fingerprint}: ` +
          "dom0's dnf checks signatures with rpm and would refuse every package that key signed, after the whole download. " +
          "Pin an export of the key that `rpmkeys --import` takes (dom0's rpm refuses a key file the receiver takes: it may be another rpm version than the 4.18 the receiver follows), or import the key into dom0's rpm database first",
      );
    }
  }
}
