/**
 * Collects the dom0 files the UpdateVM needs to resolve updates as dom0 would: the rpm database,
 * the repository definitions, dnf.conf and the repository keys. These are dom0's own files; the
 * names they get in the state-sync stream are fixed here.
 */
import { lstatSync, readdirSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
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
 * rpm's own database files, by backend (sqlite, Berkeley DB, ndb): only these are sent, so an
 * RPMDB_PATH that names some other directory sends nothing of it to the UpdateVM.
 */
const RPMDB_MAIN_FILES: ReadonlySet<string> = new Set(['rpmdb.sqlite', 'Packages', 'Packages.db']);
const RPMDB_FILE =
  /^(?:rpmdb\.sqlite(?:-shm|-wal)?|Packages(?:\.db)?|Index\.db|__db\.\d{3}|Basenames|Conflictname|Dirnames|Enhancename|Filetriggername|Group|Installtid|Name|Obsoletename|Providename|Recommendname|Requirename|Sha1header|Sigmd5|Suggestname|Supplementname|Transfiletriggername|Triggername)$/;

/**
 * The files of dom0's rpm database, which must exist before any rpm or dnf runs against it: rpm
 * creates an empty database where none is, so a mistyped RPMDB_PATH would otherwise read as "no
 * packages installed", leave a stray database in dom0 and send what that directory holds.
 */
export function requireRpmdb(config: Pick<Config, 'dom0Root' | 'rpmdbPath'>): StateSource[] {
  const rpmdbDir = join(config.dom0Root, config.rpmdbPath);
  const rpmdb = regularFiles(rpmdbDir, (name) => RPMDB_FILE.test(name) && allowed('rpmdb')(name));
  if (rpmdb === undefined || !rpmdb.some((file) => RPMDB_MAIN_FILES.has(file.name))) {
    throw new StateError('STATE_NO_RPMDB', `no rpm database (rpmdb.sqlite, Packages or Packages.db) found in ${rpmdbDir} (check DOM0_ROOT and RPMDB_PATH)`);
  }
  return rpmdb;
}

/** What a run sends, and the links it leaves out because they name a file outside their directory. */
export interface StateFiles {
  readonly files: readonly StateFile[];
  /** `<link> -> <target>` for each link left out. */
  readonly linksOut: readonly string[];
  /** KEYS_DIR is missing or holds no key file to send (a mistyped path would otherwise go unseen). */
  readonly noKeys: boolean;
}

export function collectStateFiles(config: Config): StateFiles {
  const linksOut: string[] = [];
  const rpmdb = requireRpmdb(config);
  const repos = regularFiles(config.reposDir, allowed('yum.repos.d'), linksOut) ?? [];
  if (repos.length === 0) {
    throw new StateError('STATE_NO_REPOS', `no *.repo files in ${config.reposDir} (check REPOS_DIR)`);
  }
  const keys = regularFiles(config.keysDir, allowed('rpm-gpg'), linksOut) ?? [];
  const files: StateFile[] = [
    ...rpmdb.map((f) => ({ name: `rpmdb/${f.name}`, path: f.path })),
    ...repos.map((f) => ({ name: `yum.repos.d/${f.name}`, path: f.path })),
    ...keys.map((f) => ({ name: `rpm-gpg/${f.name}`, path: f.path })),
  ];
  const dnfConf = regularFiles(dirname(config.dnfConf), (name) => name === basename(config.dnfConf), linksOut)?.[0];
  if (dnfConf !== undefined) files.push({ name: 'dnf/dnf.conf', path: dnfConf.path });
  return { files, linksOut, noKeys: keys.length === 0 };
}

/** A file to send: its name in its directory, and the regular file its bytes come from. */
interface StateSource {
  readonly name: string;
  readonly path: string;
}

/**
 * Sorted regular files of `dir` matching `accept`. A symlink counts when it names a regular file
 * in the same directory (Fedora's fedora-gpg-keys installs `RPM-GPG-KEY-fedora-N-<arch>` as links
 * to `...-primary`, and repo files name the link): it is sent under its own name with the bytes
 * of its target, read from the target's real path (the encoder follows no link). A link that
 * leaves the directory is not sent: the UpdateVM gets nothing from elsewhere in dom0.
 */
function regularFiles(dir: string, accept: (name: string) => boolean, linksOut: string[] = []): StateSource[] | undefined {
  let names: string[];
  let realDir: string;
  try {
    names = readdirSync(dir);
    realDir = realpathSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateError('STATE_UNREADABLE', `cannot read ${dir}: ${(error as Error).message}`);
  }
  const sources: StateSource[] = [];
  for (const name of names.filter(accept).sort()) {
    const path = regularFileBehind(join(dir, name));
    if (path === undefined) continue;
    if (dirname(path) === realDir) sources.push({ name, path });
    else linksOut.push(`${join(dir, name)} -> ${path}`);
  }
  return sources;
}

/** The real path of the regular file at `path` (a link resolved), or undefined when there is none. */
function regularFileBehind(path: string): string | undefined {
  try {
    const real = realpathSync(path);
    return lstatSync(real).isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}
