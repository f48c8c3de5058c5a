/**
 * A check under dnf's "Nothing to do": received, verified packages that are newer than what is
 * installed under the same name and arch, yet still not installed after a plain upgrade. A dnf
 * reading another rpm database than the one dom0-update queries looks exactly like this, and so
 * does an update held back by a dependency dom0 withheld; either way the user must hear that the
 * updates they received are not in dom0, rather than see them listed as unrequested.
 */
import { execa } from 'execa';
import { StateError } from './errors.ts';
import type { InstalledPackage } from './installed.ts';
import type { ReceivedPackage } from './result-record.ts';

export interface MissedUpgrade {
  readonly received: ReceivedPackage;
  /** The installed `epoch:version-release` it would have replaced (the newest, if several). */
  readonly installed: string;
}

/** The EVR characters rpm allows, so a value can sit inside a Lua string literal as it is. */
const EVR = /^[0-9]{1,10}:[A-Za-z0-9._+~^]{1,255}-[A-Za-z0-9._+~^]{1,255}$/;

/**
 * Pairs per rpm call: with the EVR allow-list's lengths and the few installed versions a name has,
 * a batch stays well under the kernel's 128 KiB limit on one argument.
 */
const VERCMP_BATCH = 32;

/**
 * For each pair, whether the received EVR is newer than every installed one, and the newest
 * installed EVR, in one rpm call (rpm.vercmp in rpm's Lua; its print() adds no newline).
 */
async function compareBatch(pairs: readonly { evr: string; installed: readonly string[] }[]): Promise<string[]> {
  const lua = pairs
    .map(({ evr, installed: list }) => {
      const all = list.map((e) => `"${e}"`).join(',');
      return `do local n=nil for _,e in ipairs({${all}}) do if n==nil or rpm.vercmp(e,n)>0 then n=e end end print((rpm.vercmp("${evr}",n)>0 and "newer " or "older ")..n.."\\n") end`;
    })
    .join(' ');
  const result = await execa('rpm', ['--eval', `%{lua: ${lua}}`], { reject: false, stdin: 'ignore' });
  const lines = result.stdout.split('\n').filter((l) => l !== '');
  if (result.failed || lines.length !== pairs.length) {
    throw new StateError('STATE_RPM_VERCMP', `rpm could not compare package versions: ${result.stderr.trim() || result.shortMessage}`);
  }
  return lines;
}

/**
 * Received packages newer than every installed version of their name.arch and not installed
 * themselves. Versions are compared by rpm itself (rpm.vercmp in its Lua interpreter).
 */
export async function missedUpgrades(
  received: readonly ReceivedPackage[],
  installed: readonly InstalledPackage[],
): Promise<MissedUpgrade[]> {
  const pairs: { received: ReceivedPackage; evr: string; installed: string[] }[] = [];
  for (const pkg of received) {
    const evr = `${pkg.epoch}:${pkg.version}-${pkg.release}`;
    const same = installed.filter((p) => p.name === pkg.name && p.arch === pkg.arch).map((p) => p.evr);
    if (same.length === 0 || same.includes(evr) || !EVR.test(evr) || !same.every((e) => EVR.test(e))) continue;
    pairs.push({ received: pkg, evr, installed: same });
  }
  const lines: string[] = [];
  for (let i = 0; i < pairs.length; i += VERCMP_BATCH) lines.push(...(await compareBatch(pairs.slice(i, i + VERCMP_BATCH))));
  const missed: MissedUpgrade[] = [];
  pairs.forEach((pair, i) => {
    const [verdict, newest] = (lines[i] ?? '').split(' ');
    if (verdict === 'newer' && newest !== undefined) missed.push({ received: pair.received, installed: newest });
  });
  return missed;
}
