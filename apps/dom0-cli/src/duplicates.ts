/**
 * A package installed twice in one arch that dnf would only ever keep once: what a dnf killed in
 * the middle of its transaction leaves (the new header is in the rpmdb, the old one not yet
 * erased). dnf's own runs do not mend it, and every later run would report success over it.
 */
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { displayEvr, type InstalledPackage } from './installed.ts';
import { compareEvr } from './version-order.ts';

export interface DuplicatePackage {
  /** `name.arch` */
  readonly key: string;
  /** Display EVRs, oldest first. */
  readonly versions: readonly string[];
  /** rpm could not say whether it is install-only (a kernel kept side by side on purpose). */
  readonly installOnlyUnknown?: true;
}

/** dnf's default installonlypkgs: provide names whose packages are kept side by side. */
const DEFAULT_INSTALL_ONLY = ['kernel', 'kernel-PAE', 'installonlypkg(kernel)', 'installonlypkg(kernel-module)', 'installonlypkg(vm)', 'multiversion(kernel)'];

/** The `installonlypkgs` dom0's dnf.conf adds (dnf appends them to its defaults). */
export function configuredInstallOnly(dnfConf: string): string[] {
  let text: string;
  try {
    text = readFileSync(dnfConf, 'utf8');
  } catch {
    return [];
  }
  const line = /^[ \t]*installonlypkgs[ \t]*=(.*)$/m.exec(text);
  return line?.[1]?.split(/[\s,]+/).filter((name) => name !== '') ?? [];
}

/** `name.arch` groups installed more than once, before install-only packages are set aside. */
export function groupsOfTwoOrMore(installed: readonly InstalledPackage[]): Map<string, InstalledPackage[]> {
  const groups = new Map<string, InstalledPackage[]>();
  for (const p of installed) {
    // rpm's imported keys: one pseudo-package per key, all of them gpg-pubkey.(none)
    if (p.name === 'gpg-pubkey') continue;
    const key = `${p.name}.${p.arch}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  for (const [key, list] of groups) if (list.length < 2) groups.delete(key);
  return groups;
}

/**
 * Installed packages held more than once in one arch that are not install-only. Asks rpm for the
 * provides of those names alone (install-only packages such as kernels are the only usual ones).
 */
export async function findDuplicates(installed: readonly InstalledPackage[], root: string, dbpath: string, dnfConf: string): Promise<DuplicatePackage[]> {
  const groups = groupsOfTwoOrMore(installed);
  if (groups.size === 0) return [];
  const installOnly = new Set([...DEFAULT_INSTALL_ONLY, ...configuredInstallOnly(dnfConf)]);
  const names = [...new Set([...groups.values()].map((list) => list[0]?.name ?? ''))];
  const result = await execa('rpm', ['--root', root, '--dbpath', dbpath, '-q', '--qf', '%{NAME}.%{ARCH}\\t[%{PROVIDENAME}\\t]\\n', '--', ...names], { reject: false, stdin: 'ignore' });
  const keptSideBySide = new Set<string>();
  for (const line of result.stdout.split('\n')) {
    const [key, ...provides] = line.split('\t');
    if (key !== undefined && provides.some((name) => installOnly.has(name))) keptSideBySide.add(key);
  }
  // rpm failing leaves every group in, said so: a doubtful warning is better than a hidden duplicate
  const unchecked = result.failed ? { installOnlyUnknown: true as const } : {};
  return [...groups]
    .filter(([key]) => !keptSideBySide.has(key))
    .map(([key, list]) => ({ key, versions: list.map((p) => p.evr).sort(compareEvr).map(displayEvr), ...unchecked }))
    .sort((a, b) => a.key.localeCompare(b.key));
}

/** The warning for them: what it is, how it comes about, and the command that mends it. */
export function duplicatesWarning(duplicates: readonly DuplicatePackage[]): string {
  const shown = duplicates.slice(0, 5).map((d) => `${d.key} (${d.versions.join(', ')})`).join(', ');
  const more = duplicates.length > 5 ? `, and ${String(duplicates.length - 5)} more` : '';
  const doubt = duplicates.some((d) => d.installOnlyUnknown === true) ? ' (rpm could not be asked which are install-only, such as kernels, which are kept side by side on purpose)' : '';
  return `dom0's rpm database holds more than one version of ${shown}${more}, which dnf keeps only once${doubt}: a dnf transaction that was killed midway leaves this, and updates do not mend it; \`dnf remove --duplicates\` in dom0 removes the older versions (\`dnf check\` lists what is wrong)`;
}
