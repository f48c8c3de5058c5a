/**
 * Collects the dom0 files the UpdateVM needs to resolve updates as dom0 would: the rpm database,
 * the repository definitions, dnf.conf and the repository keys. These are dom0's own files; the
 * names they get in the state-sync stream are fixed here.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { classifyStatePath } from '@dom0-updates/protocol';
import type { Config } from './config.ts';
import { StateError } from './errors.ts';

export interface StateFile {
  /** The member name in the state-sync stream, e.g. `rpmdb/rpmdb.sqlite`. */
  readonly name: string;
  /** Where the bytes are in dom0. */
  readonly path: string;
}

/** Only names the protocol's state-path allow-list accepts are sent; others are left out. */
function allowed(prefix: string): (name: string) => boolean {
  return (name) => !('problem' in classifyStatePath(`${prefix}/${name}`));
}

/**
 * The files of dom0's rpm database, which must exist before any rpm or dnf runs against it: rpm
 * creates an empty database where none is, so a mistyped RPMDB_PATH would otherwise read as "no
 * packages installed" and leave a stray database in dom0.
 */
export function requireRpmdb(config: Pick<Config, 'dom0Root' | 'rpmdbPath'>): string[] {
  const rpmdbDir = join(config.dom0Root, config.rpmdbPath);
  const rpmdb = regularFiles(rpmdbDir, allowed('rpmdb'));
  if (rpmdb === undefined || rpmdb.length === 0) {
    throw new StateError('STATE_NO_RPMDB', `no rpm database found in ${rpmdbDir} (check DOM0_ROOT and RPMDB_PATH)`);
  }
  return rpmdb;
}

export function collectStateFiles(config: Config): StateFile[] {
  const rpmdbDir = join(config.dom0Root, config.rpmdbPath);
  const rpmdb = requireRpmdb(config);
  const repos = regularFiles(config.reposDir, allowed('yum.repos.d')) ?? [];
  if (repos.length === 0) {
    throw new StateError('STATE_NO_REPOS', `no *.repo files in ${config.reposDir} (check REPOS_DIR)`);
  }
  const keys = regularFiles(config.keysDir, allowed('rpm-gpg')) ?? [];
  const files: StateFile[] = [
    ...rpmdb.map((n) => ({ name: `rpmdb/${n}`, path: join(rpmdbDir, n) })),
    ...repos.map((n) => ({ name: `yum.repos.d/${n}`, path: join(config.reposDir, n) })),
    ...keys.map((n) => ({ name: `rpm-gpg/${n}`, path: join(config.keysDir, n) })),
  ];
  if (isRegularFile(config.dnfConf)) files.push({ name: 'dnf/dnf.conf', path: config.dnfConf });
  return files;
}

/** Sorted names of regular files (symlinks followed: these are dom0's own) matching `accept`. */
function regularFiles(dir: string, accept: (name: string) => boolean): string[] | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateError('STATE_UNREADABLE', `cannot read ${dir}: ${(error as Error).message}`);
  }
  return names.filter((n) => accept(n) && isRegularFile(join(dir, n))).sort();
}

function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
