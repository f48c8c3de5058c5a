import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { compareEvr, compareVersions, inDependencyRange } from '../src/version-order.ts';

/** rpm's own answers (rpm.vercmp in its Lua) for many pairs, in batches that fit one argument. */
async function rpmVercmp(pairs: readonly (readonly [string, string])[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < pairs.length; i += 400) {
    const lua = pairs
      .slice(i, i + 400)
      .map(([a, b]) => `print(rpm.vercmp("${a}","${b}").."\\n")`)
      .join(' ');
    const { stdout } = await execa('rpm', ['--eval', `%{lua: ${lua}}`]);
    out.push(...stdout.split('\n').filter((l) => l !== '').map(Number));
  }
  expect(out).toHaveLength(pairs.length);
  return out;
}

/** A fixed-seed generator: the same pairs on every run, so a failure can be replayed. */
function generator(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
}

// Characters that make rpm's order interesting: digits with leading zeros, letters of both cases,
// separators, tilde and caret. No dash: rpm splits the release at the last one.
const ALPHABET = ['0', '00', '1', '2', '9', '10', 'a', 'b', 'z', 'A', 'Z', '.', '_', '+', '~', '^'];

function version(next: (n: number) => number): string {
  let text = '';
  const parts = 1 + next(5);
  for (let i = 0; i < parts; i += 1) text += ALPHABET[next(ALPHABET.length)] ?? '';
  return text;
}

/** Half the pairs are near misses (one piece changed, added or dropped): those exercise the order. */
function pair(next: (n: number) => number): [string, string] {
  const a = version(next);
  if (next(2) === 0) return [a, version(next)];
  const piece = ALPHABET[next(ALPHABET.length)] ?? '';
  const at = next(a.length + 1);
  const edits = [a.slice(0, at) + piece + a.slice(at), a.slice(0, at) + piece + a.slice(at + 1), a.slice(0, at) + a.slice(at + 1)];
  const b = edits[next(edits.length)] ?? '';
  // rpm.vercmp refuses an empty version, as rpm never writes one
  return [a, b === '' ? a : b];
}

describe("rpm's version order", () => {
  it('orders the documented special cases as rpm does', () => {
    expect(compareVersions('1.10', '1.9')).toBe(1);
    expect(compareVersions('1.0~rc1', '1.0')).toBe(-1);
    expect(compareVersions('1.0^git1', '1.0')).toBe(1);
    expect(compareVersions('1.0^git1', '1.0.1')).toBe(-1);
    expect(compareVersions('1.01', '1.1')).toBe(0);
    expect(compareVersions('1a', '1.0')).toBe(-1);
    expect(compareEvr('1:1.0-1', '0:9.9-9')).toBe(1);
    expect(compareEvr('0:1.0-1', '1.0-1')).toBe(0);
    expect(compareEvr('1.0-1', '1.0')).toBe(1);
  });

  it('agrees with rpm.vercmp on 2,000 generated version strings', async () => {
    const next = generator(0x5eed);
    const pairs = Array.from({ length: 2000 }, () => pair(next));
    const expected = await rpmVercmp(pairs);
    const mismatches = pairs.filter(([a, b], i) => compareVersions(a, b) !== expected[i]);
    expect(mismatches).toEqual([]);
  });

  it('agrees with rpm.vercmp on 1,000 generated epoch:version-release strings', async () => {
    const next = generator(0xe7a);
    const evr = (v: string, r: string): string => {
      const epoch = ['', '0:', '1:', '01:', '2:', ':'][next(6)] ?? '';
      return next(8) === 0 ? `${epoch}${v}` : `${epoch}${v}-${r}`;
    };
    const pairs = Array.from({ length: 1000 }, (): [string, string] => {
      const [v1, v2] = pair(next);
      const [r1, r2] = pair(next);
      return next(2) === 0 ? [evr(v1, r1), evr(v1, r2)] : [evr(v1, r1), evr(v2, r2)];
    });
    const expected = await rpmVercmp(pairs);
    const mismatches = pairs.filter(([a, b], i) => compareEvr(a, b) !== expected[i]);
    expect(mismatches).toEqual([]);
  });
});

describe('inDependencyRange', () => {
  it('matches every version for a bare name', () => {
    expect(inDependencyRange('0:1.0-1', '', '')).toBe(true);
  });

  it('compares as rpm does for each operator', () => {
    expect(inDependencyRange('0:1.0-1', '<', '3.0')).toBe(true);
    expect(inDependencyRange('0:3.0-1', '<', '3.0')).toBe(false);
    expect(inDependencyRange('0:3.0-1', '<=', '3.0')).toBe(true);
    expect(inDependencyRange('0:3.0-1', '=', '3.0-1')).toBe(true);
    expect(inDependencyRange('0:3.0-2', '=', '3.0-1')).toBe(false);
    expect(inDependencyRange('0:3.1-1', '>=', '3.0')).toBe(true);
    expect(inDependencyRange('0:2.9-1', '>', '3.0')).toBe(false);
  });

  it('matches any release when the range names none', () => {
    expect(inDependencyRange('0:3.0-7', '=', '3.0')).toBe(true);
    expect(inDependencyRange('0:3.0-7', '<', '3.0')).toBe(false);
  });

  it('counts a missing epoch as 0, so any epoch above it is newer', () => {
    expect(inDependencyRange('1:1.0-1', '<', '3.0')).toBe(false);
    expect(inDependencyRange('0:1.0-1', '<', '1:0.5')).toBe(true);
  });

  it('counts flags it does not know as a match, so a caller withholds rather than lets in', () => {
    expect(inDependencyRange('0:9.0-1', '<>', '1.0')).toBe(true);
  });
});

describe("rpm's version order", () => {
  it('splits the release at the last dash, as rpm.vercmp does', () => {
    // rpm 4.18: rpm.vercmp("1-2", "1-1-5") is -1 (version 1 against 1-1)
    expect(compareEvr('1-2', '1-1-5')).toBe(-1);
    expect(compareEvr('1-1-5', '1-2')).toBe(1);
  });

  it('takes the version an Obsoletes names as inside its >= and <= ranges', () => {
    expect(inDependencyRange('0:1.0-1', '>=', '1.0')).toBe(true);
    expect(inDependencyRange('0:1.0-1', '>=', '0:1.0-1')).toBe(true);
    expect(inDependencyRange('0:1.0-1', '<=', '1.0-1')).toBe(true);
    expect(inDependencyRange('0:1.0-1', '>=', '1.0-2')).toBe(false);
    expect(inDependencyRange('0:1.0-1', '>', '1.0')).toBe(false);
    expect(inDependencyRange('0:1.0-1', '<', '1.0')).toBe(false);
  });
});
