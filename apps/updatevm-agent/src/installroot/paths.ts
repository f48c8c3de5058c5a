import { join } from 'node:path';

/** Where everything lives under the agent's working directory. */
export interface WorkdirLayout {
  readonly workdir: string;
  /** dnf's --installroot: dom0's rpmdb, repository files, dnf.conf and keys. */
  readonly root: string;
  /** HOME for rpm and dnf: its .rpmmacros pins %_dbpath (Debian's rpm defaults to ~/.rpmdb). */
  readonly home: string;
  /** dnf's metadata and package cache (--setopt=cachedir=), outside the installroot. */
  readonly cache: string;
  /** Parent of each run's fresh download directory. */
  readonly runs: string;
  readonly reposDir: string;
  readonly dnfConf: string;
  readonly keysDir: string;
  readonly rpmdbDir: string;
}

export const DEFAULT_WORKDIR = '/var/lib/qubes/dom0-updates';

/** The rpmdb path inside the installroot, as both dnf and rpm must be told. */
export const RPMDB_PATH = '/var/lib/rpm';

export function workdirLayout(workdir: string): WorkdirLayout {
  return withRoot(workdir, join(workdir, 'root'));
}

/** The same working directory with the installroot somewhere else (a root being prepared). */
export function withRoot(workdir: string, root: string): WorkdirLayout {
  return {
    workdir,
    root,
    home: join(workdir, 'home'),
    cache: join(workdir, 'cache'),
    runs: join(workdir, 'runs'),
    reposDir: join(root, 'etc', 'yum.repos.d'),
    dnfConf: join(root, 'etc', 'dnf', 'dnf.conf'),
    keysDir: join(root, 'etc', 'pki', 'rpm-gpg'),
    rpmdbDir: join(root, 'var', 'lib', 'rpm'),
  };
}
