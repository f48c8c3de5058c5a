/**
 * A package installed twice in one arch that dnf would only ever keep once: what a dnf killed in
 * the middle of its transaction leaves (the new header is in the rpmdb, the old one not yet
 * erased). dnf's own runs do not mend it, and every later run would report success over it.
 */
import { execa } from 'execa';
import { readDnfConfMain } from './dnf-conf.ts';
import { displayEvr, groupByNameArch, type InstalledPackage } from './installed.ts';
import { compareEvr } from './version-order.ts';

export interface DuplicatePackage {
  /** `name.arch` */
  readonly key: string;
  /** Display EVRs, oldest first. */
  readonly versions: readonly string[];
}

export interface Duplicates {
  readonly packages: readonly DuplicatePackage[];
  /** rpm could not say which are install-only (kernels kept side by side on purpose): all are listed. */
  readonly installOnlyUnknown: boolean;
}

/** `name.arch` groups installed more than once, before install-only packages are set aside. */
export function groupsOfTwoOrMore(installed: readonly InstalledPackage[]): Map<string, InstalledPackage[]> {
  // rpm's imported keys: one pseudo-package per key, all of them gpg-pubkey.(none)
  const groups = groupByNameArch(installed.filter((p) => p.name !== 'gpg-pubkey'));
  for (const [key, list] of groups) if (list.length < 2) groups.delete(key);
  return groups;
}

/**
 * Installed packages held more than once in one arch that are not install-only, leaving out the
 * `name.arch` keys in `known` (already said). Asks rpm for the provides of those names alone
 * (install-only packages such as kernels are the only usual ones).
 */
export async function findDuplicates(installed: readonly InstalledPackage[], root: string, dbpath: string, dnfConf: string, known: ReadonlySet<string> = new Set()): Promise<Duplicates> {
  const groups = groupsOfTwoOrMore(installed);
  for (const key of known) groups.delete(key);
  if (groups.size === 0) return { packages: [], installOnlyUnknown: false };
  // dnf's defaults and what dom0's dnf.conf adds (or puts in their place)
  const installOnly = new Set(readDnfConfMain(dnfConf).installOnly);
  const names = [...new Set([...groups.values()].map((list) => list[0]?.name ?? ''))];
  const result = await execa('rpm', ['--root', root, '--dbpath', dbpath, '-q', '--qf', '%{NAME}.%{ARCH}\\t[%{PROVIDENAME}\\t]\\n', '--', ...names], { reject: false, stdin: 'ignore' });
  const keptSideBySide = new Set<string>();
  for (const line of result.stdout.split('\n')) {
    const [key, ...provides] = line.split('\t');
    if (key !== undefined && provides.some((name) => installOnly.has(name))) keptSideBySide.add(key);
  }
  // rpm failing leaves every group in, said so: a doubtful warning is better than a hidden duplicate
  const packages = [...groups]
    .filter(([key]) => !keptSideBySide.has(key))
    .map(([key, list]) => ({ key, versions: list.map((p) => p.evr).sort(compareEvr).map(displayEvr) }))
    .sort((a, b) => a.key.localeCompare(b.key));
  return { packages, installOnlyUnknown: result.failed };
}

/** The warning for them: what it is, how it comes about, and the command that mends it. */
export function duplicatesWarning({ packages, installOnlyUnknown }: Duplicates): string {
  const shown = packages.slice(0, 5).map((d) => `${d.key} (${d.versions.join(', ')})`).join(', ');
  const more = packages.length > 5 ? `, and ${String(packages.length - 5)} more` : '';
  const doubt = installOnlyUnknown ? ' (rpm could not be asked which are install-only, such as kernels, which are kept side by side on purpose)' : '';
  return `dom0's rpm database holds more than one version of ${shown}${more}, which dnf keeps only once${doubt}: a dnf transaction that was killed midway leaves this, and updates do not mend it; \`dnf remove --duplicates\` in dom0 removes the older versions (\`dnf check\` lists what is wrong)`;
}
