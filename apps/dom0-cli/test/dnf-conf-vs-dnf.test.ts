// dom0-update's reading of dnf.conf against dnf's own, on the same files: python3-dnf (installed
// with dnf, as on dom0 and in CI) reads each one and says what dnf would exclude and keep side by side
// (dom0's dnf runs with disable_excludes cleared, so [main]'s exclusions hold whatever it says).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readDnfConfMain } from '../src/dnf-conf.ts';

/** Each file as dnf reads it; `refused` where dnf's parser refuses the file (dnf then does not run). */
const DNF_READER = `
import json, logging, sys
logging.disable(logging.CRITICAL)
import dnf.conf
out = []
for path in sys.argv[1:]:
    conf = dnf.conf.Conf()
    try:
        conf.read(path, priority=dnf.conf.PRIO_MAINCONFIG)
    except Exception:
        out.append(None)
        continue
    out.append({'installOnly': list(conf.installonlypkgs), 'excluded': list(conf.excludepkgs), 'included': list(conf.includepkgs)})
print(json.dumps(out))
`;

/** Ordinary files, and every rule of dnf's ini parser and list settings that can tell two readings apart. */
const CASES: readonly string[] = [
  "[main]\nexcludepkgs=a b,c\n",
  "[main]\nexclude=kernel*\nexcludepkgs = dom0-tool,dom0-hello\n",
  "[main]\nexclude=kernel*\nexcludepkgs=,dom0-tool\n",
  "[main]\nexclude=kernel*\nexcludepkgs=\n",
  "[main]\nexcludepkgs=foo\nexclude=\"\"\n",
  "[main]\nexcludepkgs=foo\nexclude=None\n",
  "[main]\nexcludepkgs=foo\nexclude=''\n",
  "[main]\nexcludepkgs=\"foo bar\"\n",
  "[main]\nexcludepkgs='foo'\n",
  "[main]\nexcludepkgs=\"foo'\n",
  "[main]\nexcludepkgs=\"\n",
  "[main]\nexcludepkgs=a\nexclude=b\nexcludepkgs=c\n",
  "[main]\nexcludepkgs=a,\n  b c\n\tinstallonlypkgs=d\n",
  "[main]\nexcludepkgs=foo\n# c\n bar\n",
  "[main]\nexcludepkgs=foo\n\n bar\n",
  "[main]\nexcludepkgs=foo\n  \n\tbar\n",
  "[main]\n  excludepkgs=foo\n",
  "[main]\n#excludepkgs=a\n; installonlypkgs=x\nexcludepkgs=b\n[updates]\nexcludepkgs=c\ninstallonlypkgs=y\n",
  "[updates]\nexcludepkgs=c\n",
  "[main]\nexcludepkgs=a\ndisable_excludes=main\n",
  "[main]\nexcludepkgs=a\ndisable_excludes=all\n",
  "[main]\nexcludepkgs=a\ndisable_excludes=updates\n",
  "[main]\nexcludepkgs=a\ndisable_excludes=*\n",
  "[main]\ndisable_excludes=main\ndisable_excludes=foo\nexcludepkgs=foo\n",
  "excludepkgs=a\n",
  "[main]\nexcludepkgs\n",
  "[main]\n=a\n",
  "[main\nexcludepkgs=a\n",
  "[main] x\nexcludepkgs=a\n",
  "[main]x\nexcludepkgs=a\n",
  "[]\nexcludepkgs=a\n",
  "[ main ]\nexcludepkgs=a\n",
  "\ufeff[main] # dom0\r\nexcludepkgs=a \r\n",
  "[main]\r\nexcludepkgs=foo\r\n bar\r\n",
  "[main]\nexcludepkgs=foo\tbar\n",
  "[main]\nexcludepkgs=foo,\tbar\n",
  "[main]\nexcludepkgs=foo\fbar\n",
  "[main]\nexcludepkgs=foo\u00a0bar\n",
  "[main]\nexcludepkgs=foo # comment\n",
  "[main]\nexcludepkgs=foo ,bar , baz\n",
  "[main]\nexcludepkgs= foo  bar \n",
  "[main]\nexcludepkgs=foo,,bar\n",
  "[main]\nexcludepkgs=foo\n\n[other]\nx=1\n[main]\nexclude=bar\n",
  "[main]\nEXCLUDE=foo\n",
  "[main]\nexclude =foo\n",
  "[main]\n exclude=foo\n",
  "  [main]\nexclude=foo\n",
  "[main]\ninstallonlypkgs=kernel-qubes-vm, dom0-kmod  other\n",
  "[main]\ninstallonlypkgs=,x\n",
  "[main]\ninstallonlypkgs=\n",
  "[main]\nexcludepkgs=kernel*.$basearch\n",
  "[main]\nexcludepkgs=foo\n  \n",
  "[main]\nexcludepkgs=foo,\n\n",
  "[main]\nexcludepkgs=\n foo\n",
  "[main]\nexcludepkgs=a\nexcludepkgs=\n",
  "[main]\nexcludepkgs=a\n[main]\nexcludepkgs=b\n",
  "[main]\nexclude=a\nexcludepkgs=b\nexclude=c\n",
  "[main]\nexcludepkgs=foo\n;x\n\tbar\n",
  "#c\n[main]\nexcludepkgs=foo\n",
  " #c\n[main]\nexcludepkgs=foo\n",
  "[main]\n #c\nexcludepkgs=foo\n",
  "[main]\nexcludepkgs=\"a\",\"b\"\n",
  "[main]\nexcludepkgs=foo\\\n bar\n",
  "[main]\r\nexcludepkgs=foo\r\n\r\n bar\r\n",
  "[main]\nexcludepkgs=foo\n  # c\n",
  "[main]\nexclude=a=b\n",
  "[main]\nexcludepkgs=\"a\n b\"\n",
  "[main]\nexcludepkgs= \r\n",
  "[main]\nexcludepkgs=\r\n",
  "[main]\nexcludepkgs= \r  \n",
  "[main]\nexcludepkgs=a\n[main] xy\nexcludepkgs=b\n",
  "[main]\nexcludepkgs=a\n[main]#x\nexclude=b\n",
  "[main]\ninstallonlypkgs=a\ninstallonlypkgs=,b\n",
  "[main]\nexcludepkgs=a ,\n b\n",
  "[main]\nexcludepkgs=a,\n,b\n",
  "[main]\nexcludepkgs=None\n",
  "[main]\nexcludepkgs='None'\n",
  "[main]\ndisable_excludes=all,main\nexcludepkgs=a\n",
  "[main]\ndisable_excludes= main\nexcludepkgs=a\n",
  "[main]\nexclude\t=foo\n",
  "[main]\nexclude=\tfoo\n",
  "[main]\nexcludepkgs=a\n[other]\n bar\n",
  "[main]\nexcludepkgs=a\n[other]\nx=1\n bar\n",
  "[main]\n[x]\nexcludepkgs=a\n",
  "[main]é\nexcludepkgs=k\n",
  "[main] \nexcludepkgs=k\n",
  "[main]\nexcludepkgs=k\n[x] \nexclude=j\n",
  "[main] é \nexcludepkgs=k\n",
  "[main]\nexcludepkgs=café,naïve x\n",
  "[main]\nexcludepkgs=fo\\\\o* \\\\\n",
  "[main]\nincludepkgs=dom0-hello* dom0-libgreet*\n",
  "[main]\nincludepkgs=a\nincludepkgs=b\n",
  "[main]\nincludepkgs=a\nincludepkgs=,b\n",
  "[main]\nincludepkgs=a\nincludepkgs=\n",
  "[main]\nincludepkgs=a,,b , ,c\n",
  "[main]\nincludepkgs=None\n",
  "[main]\nincludepkgs=\"a b\"\n",
  "[main]\nincludepkgs=a\n b\n",
  "[main]\ninclude=a\n",
  "[main]\nincludepkgs=a\nexcludepkgs=a\n"
];

interface DnfReading {
  installOnly: string[];
  excluded: string[];
  included: string[];
}

/** dnf's reading of each file (null: refused), in one python3-dnf run. */
function dnfReads(texts: readonly string[]): { files: string[]; dnf: (DnfReading | null)[] } {
  const dir = mkdtempSync(join(tmpdir(), 'dnf-conf-vs-dnf-'));
  const files = texts.map((text, i) => {
    const path = join(dir, `case-${String(i)}.conf`);
    writeFileSync(path, text);
    return path;
  });
  const dnf = JSON.parse(execFileSync('/usr/bin/python3', ['-c', DNF_READER, ...files], { encoding: 'utf8' })) as (DnfReading | null)[];
  return { files, dnf };
}

/** Random files from the pieces dnf's parser and list rules turn on. */
const piece = fc.constantFrom('a', 'kernel*', 'x.i686', 'None', '"', "'", ',', ' ', '\t', '\r', '#', ';', '=', '\\', '\f', '\u00a0', 'é', '""', 'c d', '[', ']');
const value = fc.array(piece, { maxLength: 6 }).map((parts) => parts.join(''));
const key = fc.constantFrom('exclude', 'excludepkgs', 'installonlypkgs', 'includepkgs', 'include', 'disable_excludes', 'gpgcheck', 'exclude ', 'excludepkgs\t', 'EXCLUDE', ' exclude', '');
const line = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom('[main]', '[main]', '[updates]', '[ main ]', '[main] #c', '[main] x', '[main]é', '[]', '[main', ' [main]', '[main]\u00a0') },
  { weight: 4, arbitrary: fc.tuple(key, fc.constantFrom('=', ' = ', '\t=', '= '), value).map(([k, eq, v]) => `${k}${eq}${v}`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(' ', '\t', '  '), value).map(([indent, v]) => `${indent}${v}`) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\t', '\r', '#c', ';c', ' #c') },
);
const file = fc
  .tuple(fc.boolean(), fc.array(line, { minLength: 1, maxLength: 6 }), fc.constantFrom('\n', '\r\n'), fc.boolean())
  .map(([main, lines, eol, last]) => [...(main ? ['[main]'] : []), ...lines].join(eol) + (last ? eol : ''));

describe("dom0's dnf.conf read as dnf reads it", () => {
  it('agrees with dnf on 1000 random files built from the pieces its rules turn on', () => {
    const texts = fc.sample(file, { numRuns: 1000, seed: 20261207 });
    const { files, dnf } = dnfReads(texts);
    const defaults = readDnfConfMain('/nonexistent/dnf.conf');
    const differ = texts.flatMap((text, i) => {
      const theirs = dnf[i] ?? defaults;
      return JSON.stringify(readDnfConfMain(files[i] ?? '')) === JSON.stringify({ installOnly: theirs.installOnly, excluded: theirs.excluded, included: theirs.included }) ? [] : [text];
    });
    expect(differ.slice(0, 5)).toEqual([]);
    // the sample reaches refusals and exclusions alike
    expect(dnf.filter((d) => d === null).length).toBeGreaterThan(50);
    expect(dnf.filter((d) => (d?.excluded.length ?? 0) > 0).length).toBeGreaterThan(50);
    expect(dnf.filter((d) => (d?.included.length ?? 0) > 0).length).toBeGreaterThan(20);
  });

  it('gives, for every file, the exclusions, inclusions and install-only names dnf 4 itself reads, and dnf\'s defaults where dnf refuses the file', () => {
    const { files, dnf } = dnfReads(CASES);
    expect(dnf).toHaveLength(CASES.length);
    const defaults = readDnfConfMain('/nonexistent/dnf.conf');
    const differ = CASES.flatMap((text, i) => {
      const ours = readDnfConfMain(files[i] ?? '');
      const theirs = dnf[i] ?? defaults;
      return JSON.stringify(ours) === JSON.stringify({ installOnly: theirs.installOnly, excluded: theirs.excluded, included: theirs.included }) ? [] : [{ text, dnf: theirs, ours }];
    });
    expect(differ).toEqual([]);
    // the corpus reaches each outcome: exclusions, cleared lists, added install-only names, refusals
    expect(dnf.filter((d) => d === null).length).toBeGreaterThan(5);
    expect(dnf.filter((d) => (d?.excluded.length ?? 0) > 0).length).toBeGreaterThan(20);
    expect(dnf.filter((d) => d !== null && d.installOnly.length !== defaults.installOnly.length).length).toBeGreaterThan(2);
    expect(dnf.filter((d) => (d?.included.length ?? 0) > 0).length).toBeGreaterThan(5);
  });
});
