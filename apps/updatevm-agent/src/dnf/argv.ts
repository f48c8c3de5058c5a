import type { DownloadRequest } from '../request.ts';
import type { WorkdirLayout } from '../installroot/paths.ts';
import type { DnfTool } from './detect.ts';

/** Options every dnf call gets: everything read and written stays inside the workdir. */
function baseArgs(dnf: DnfTool, layout: WorkdirLayout, request: DownloadRequest, releasever: string | undefined): string[] {
  const args = [
    '-y',
    dnf.major === 5 ? '--no-plugins' : '--noplugins',
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

/** Resolve and download into `downloadDir` without touching the installroot's rpmdb. */
export function downloadArgs(
  dnf: DnfTool,
  layout: WorkdirLayout,
  request: DownloadRequest,
  downloadDir: string,
  releasever: string | undefined,
): string[] {
  return [
    ...baseArgs(dnf, layout, request, releasever),
    // Fresh metadata every time: a stale cache must not hide updates (or a dead mirror).
    '--refresh',
    // the newest of everything, as dom0's dnf will look for it; a user's --nobest (or --best) is
    // already in the options, and dnf 4 refuses both at once
    ...(request.dnfOptions.some((o) => o === '--nobest' || o === '--best') ? [] : ['--best']),
    '--allowerasing',
    '--downloadonly',
    dnf.major === 5 ? `--destdir=${downloadDir}` : `--downloaddir=${downloadDir}`,
    command(request),
    ...request.packages,
  ];
}

/** check-update: exit 100 when updates exist, 0 when none, 1 on error. */
export function checkArgs(
  dnf: DnfTool,
  layout: WorkdirLayout,
  request: DownloadRequest,
  releasever: string | undefined,
): string[] {
  return [
    ...baseArgs(dnf, layout, request, releasever),
    '--refresh',
    dnf.major === 5 ? 'check-upgrade' : 'check-update',
    ...request.packages,
  ];
}

/**
 * Lists the repositories' packages that `spec` names, from the metadata the check just fetched:
 * check-update answers "no updates" for a name that matches nothing at all.
 */
export function matchArgs(dnf: DnfTool, layout: WorkdirLayout, request: DownloadRequest, releasever: string | undefined, spec: string): string[] {
  return [...baseArgs(dnf, layout, request, releasever), '--cacheonly', '--quiet', 'repoquery', '--queryformat', '%{name}\n', spec];
}

