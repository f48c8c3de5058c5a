import type { DownloadRequest } from '../request.ts';
import type { WorkdirLayout } from '../installroot/paths.ts';
import type { DnfTool } from './detect.ts';

/** Options every dnf call gets (in dnf 4's spelling): everything read and written stays inside the workdir. */
function baseArgs(layout: WorkdirLayout, request: DownloadRequest, releasever: string | undefined): string[] {
  const args = [
    '-y',
    '--noplugins',
    `--installroot=${layout.root}`,
    `--config=${layout.dnfConf}`,
    `--setopt=reposdir=${layout.reposDir}`,
    `--setopt=cachedir=${layout.cache}`,
    '--setopt=protected_packages=',
    // A repository that cannot be reached must fail the run, never be skipped into "no updates":
    // for every repository too, since a repo file's own skip_if_unavailable wins over [main]'s.
    '--setopt=skip_if_unavailable=False',
    '--setopt=*.skip_if_unavailable=False',
  ];
  const userReleasever = request.dnfOptions.some((o) => o.startsWith('--releasever='));
  if (releasever !== undefined && !userReleasever) args.push(`--releasever=${releasever}`);
  for (const r of request.enableRepos) args.push(`--enablerepo=${r}`);
  for (const r of request.disableRepos) args.push(`--disablerepo=${r}`);
  args.push(...request.dnfOptions);
  return args;
}

/** dnf's command word for each action; `download` resolves like install but dom0 only stores the result. */
function command(request: DownloadRequest): string {
  return request.action === 'download' ? 'install' : request.action;
}

/**
 * dnf5 takes a command's own options (--allowerasing, --downloadonly, --skip-broken...) only after
 * the command word, and `install`, `reinstall` and `downgrade` have no --destdir: the options go
 * after the command, in dnf5's spelling, and the download directory as the `destdir` setting, which
 * every command's downloads go to (without it dnf5 keeps packages in its cache).
 */
const DNF5_SPELLING: ReadonlyMap<string, string> = new Map([
  ['--noplugins', '--no-plugins'],
  ['--nobest', '--no-best'],
  ['--nodocs', '--no-docs'],
  ['--enablerepo', '--enable-repo'],
  ['--disablerepo', '--disable-repo'],
  ['--downloaddir', '--setopt=destdir'],
  ['--advisory', '--advisories'],
  ['--cve', '--cves'],
  ['--bz', '--bzs'],
  ['--sec-severity', '--advisory-severities'],
  // options of install and the others only; every command takes the settings (upgrade ignores skip_broken)
  ['--skip-broken', '--setopt=skip_broken=True'],
  ['--skip-unavailable', '--setopt=skip_unavailable=True'],
]);

/** Options dnf5 does not have, or has for the download commands only; `--verbose` changes output alone. */
function droppedByDnf5(name: string, command: string): boolean {
  if (name === '--verbose' || name === '-v') return true;
  if (name === '--allowerasing' || name === '--downloadonly') return command === 'check-upgrade' || command === 'repoquery';
  // dnf5 refuses --refresh beside --cacheonly, which only the match (repoquery) gets: it reads the check's metadata
  return name === '--refresh' && command === 'repoquery';
}

function dnf5Option(option: string, command: string): string[] {
  const eq = option.indexOf('=');
  const name = eq === -1 ? option : option.slice(0, eq);
  if (droppedByDnf5(name, command)) return [];
  const spelled = DNF5_SPELLING.get(name);
  if (spelled === undefined) return [option];
  return [eq === -1 ? spelled : `${spelled}${option.slice(eq)}`];
}

/** dnf 4: options, command, arguments. dnf5: command, options (respelled), arguments. */
function assemble(dnf: DnfTool, options: readonly string[], command: string, operands: readonly string[]): string[] {
  if (dnf.major === 4) return [...options, command, ...operands];
  // repeats stay, in order: dnf5 takes them as dnf 4 does, and a later --enable-repo may undo an earlier --disable-repo
  return [command, ...options.flatMap((o) => dnf5Option(o, command)), ...operands];
}

/** Resolve and download into `downloadDir` without touching the installroot's rpmdb. */
export function downloadArgs(
  dnf: DnfTool,
  layout: WorkdirLayout,
  request: DownloadRequest,
  downloadDir: string,
  releasever: string | undefined,
): string[] {
  const options = [
    // dnf's output is read, never shown: a user's --quiet would only hide the total that bounds the
    // download (a package body without end) and the transaction the progress counts
    ...baseArgs(layout, request, releasever).filter((o) => o !== '--quiet' && o !== '-q'),
    // Fresh metadata every time: a stale cache must not hide updates (or a dead mirror).
    '--refresh',
    // the newest of everything, as dom0's dnf will look for it; a user's --nobest (or --best) is
    // already in the options, and dnf 4 refuses both at once
    ...(request.dnfOptions.some((o) => o === '--nobest' || o === '--best') ? [] : ['--best']),
    '--allowerasing',
    '--downloadonly',
    `--downloaddir=${downloadDir}`,
  ];
  return assemble(dnf, options, command(request), request.packages);
}

/** check-update: exit 100 when updates exist, 0 when none, 1 on error. */
export function checkArgs(
  dnf: DnfTool,
  layout: WorkdirLayout,
  request: DownloadRequest,
  releasever: string | undefined,
): string[] {
  const options = [...baseArgs(layout, request, releasever), '--refresh'];
  return assemble(dnf, options, dnf.major === 5 ? 'check-upgrade' : 'check-update', request.packages);
}

/**
 * Lists the repositories' packages that `spec` names, from the metadata the check just fetched:
 * check-update answers "no updates" for a name that matches nothing at all.
 */
export function matchArgs(dnf: DnfTool, layout: WorkdirLayout, request: DownloadRequest, releasever: string | undefined, spec: string): string[] {
  const options = [...baseArgs(layout, request, releasever), '--cacheonly', '--quiet'];
  return assemble(dnf, options, 'repoquery', ['--queryformat', '%{name}\n', spec]);
}
