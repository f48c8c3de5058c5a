/**
 * rpm's version order, so that dom0-update can say whether a change of version was an upgrade or a
 * downgrade from the rpmdb alone (dnf's own wording is not parsed). Follows the algorithm of rpm's
 * `rpmvercmp` and `rpmVersionCompare`; `test/version-order.test.ts` checks it against rpm itself.
 */

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isAlpha = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const isAlnum = (c: string): boolean => isDigit(c) || isAlpha(c);

/** -1, 0 or 1 as `a` sorts before, with or after `b` in rpm's order of version (or release) strings. */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < a.length && !isAlnum(a.charAt(i)) && a.charAt(i) !== '~' && a.charAt(i) !== '^') i += 1;
    while (j < b.length && !isAlnum(b.charAt(j)) && b.charAt(j) !== '~' && b.charAt(j) !== '^') j += 1;
    const ca = a.charAt(i);
    const cb = b.charAt(j);
    // a tilde sorts before everything, even the end of the string (1.0~rc1 < 1.0)
    if (ca === '~' || cb === '~') {
      if (ca !== '~') return 1;
      if (cb !== '~') return -1;
      i += 1;
      j += 1;
      continue;
    }
    // a caret sorts after the end of the string but before any other segment (1.0 < 1.0^git1 < 1.0.1)
    if (ca === '^' || cb === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (ca !== '^') return 1;
      if (cb !== '^') return -1;
      i += 1;
      j += 1;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = isDigit(ca);
    const inSegment = numeric ? isDigit : isAlpha;
    const startA = i;
    const startB = j;
    while (i < a.length && inSegment(a.charAt(i))) i += 1;
    while (j < b.length && inSegment(b.charAt(j))) j += 1;
    let segA = a.slice(startA, i);
    let segB = b.slice(startB, j);
    // segments of different kinds: a number is newer than letters
    if (segB === '') return numeric ? 1 : -1;
    if (numeric) {
      segA = segA.replace(/^0+/, '');
      segB = segB.replace(/^0+/, '');
      if (segA.length !== segB.length) return segA.length > segB.length ? 1 : -1;
    }
    if (segA !== segB) return segA > segB ? 1 : -1;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

interface Evr {
  readonly epoch: string;
  readonly version: string;
  readonly release: string | undefined;
}

/**
 * `[epoch:]version[-release]` split as rpm splits it: an epoch is the leading digits before a colon
 * (none, or empty, counts as 0); the release follows the last dash after them.
 */
function splitEvr(evr: string): Evr {
  let digits = 0;
  while (digits < evr.length && isDigit(evr.charAt(digits))) digits += 1;
  const hasEpoch = evr.charAt(digits) === ':';
  const epoch = hasEpoch && digits > 0 ? evr.slice(0, digits) : '0';
  const rest = hasEpoch ? evr.slice(digits + 1) : evr;
  const dash = rest.lastIndexOf('-');
  return {
    epoch,
    version: dash === -1 ? rest : rest.slice(0, dash),
    release: dash === -1 ? undefined : rest.slice(dash + 1),
  };
}

/** -1, 0 or 1 as `a` is older than, the same as or newer than `b` (both `[epoch:]version[-release]`). */
export function compareEvr(a: string, b: string): -1 | 0 | 1 {
  const x = splitEvr(a);
  const y = splitEvr(b);
  const byEpoch = compareVersions(x.epoch, y.epoch);
  if (byEpoch !== 0) return byEpoch;
  const byVersion = compareVersions(x.version, y.version);
  if (byVersion !== 0) return byVersion;
  // a release sorts after no release at all
  if (x.release === undefined || y.release === undefined) {
    return x.release === y.release ? 0 : x.release === undefined ? -1 : 1;
  }
  return compareVersions(x.release, y.release);
}

const RANGE_TESTS: Readonly<Record<string, (order: number) => boolean>> = {
  '<': (order) => order < 0,
  '<=': (order) => order <= 0,
  '=': (order) => order === 0,
  '>=': (order) => order >= 0,
  '>': (order) => order > 0,
};

/**
 * Whether `evr` falls in a dependency's range, as rpm matches one: `flags` as rpm's `depflags`
 * format prints them (empty for a bare name, which every version matches), and a side without a
 * release matches any release. Flags this does not know count as a match, so a caller that
 * withholds on a match errs on the side of withholding.
 */
export function inDependencyRange(evr: string, flags: string, dependencyEvr: string): boolean {
  const test = RANGE_TESTS[flags];
  if (flags === '' || test === undefined) return true;
  const x = splitEvr(evr);
  const y = splitEvr(dependencyEvr);
  const order =
    compareVersions(x.epoch, y.epoch) ||
    compareVersions(x.version, y.version) ||
    (x.release === undefined || y.release === undefined ? 0 : compareVersions(x.release, y.release));
  return test(order);
}
