import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_INSTALL_ONLY, readDnfConfMain } from '../src/dnf-conf.ts';

const dir = mkdtempSync(join(tmpdir(), 'dnf-conf-'));
let files = 0;
function conf(text: string): ReturnType<typeof readDnfConfMain> {
  const path = join(dir, `dnf-${String(++files)}.conf`);
  writeFileSync(path, text);
  return readDnfConfMain(path);
}

describe("dom0's dnf.conf as dnf reads it", () => {
  it('adds the installonlypkgs dom0 names to dnf\'s defaults, separated by spaces or commas, or puts them in their place', () => {
    expect(conf('[main]\ngpgcheck=1\ninstallonlypkgs = kernel-qubes-vm, dom0-kmod  other\n').installOnly).toEqual([...DEFAULT_INSTALL_ONLY, 'kernel-qubes-vm', 'dom0-kmod', 'other']);
    expect(conf('[main]\ninstallonlypkgs=,kernel-qubes-vm\n').installOnly).toEqual(['kernel-qubes-vm']);
  });

  it('reads dnf\'s defaults from a missing file', () => {
    expect(readDnfConfMain(join(dir, 'missing.conf'))).toEqual({ installOnly: DEFAULT_INSTALL_ONLY, excluded: [], included: [] });
  });

  it('splits a list at spaces, commas and newlines only: a tab is part of an entry', () => {
    expect(conf('[main]\nexcludepkgs=foo\tbar\n').excluded).toEqual(['foo\tbar']);
  });

  it('takes one pair of quotes off a value, and an empty value or None clears the list', () => {
    expect(conf('[main]\nexcludepkgs="foo bar"\n').excluded).toEqual(['foo', 'bar']);
    for (const clear of ['""', "''", 'None', '']) expect(conf(`[main]\nexcludepkgs=foo\nexclude=${clear}\n`).excluded, clear).toEqual([]);
  });

  it('adds the entries of exclude and excludepkgs, in the order of the file', () => {
    expect(conf('[main]\nexclude=kernel*\nexcludepkgs = dom0-tool,dom0-hello\n').excluded).toEqual(['kernel*', 'dom0-tool', 'dom0-hello']);
  });

  it('clears the list at a setting whose first entry is empty, as dnf does', () => {
    expect(conf('[main]\nexclude=kernel*\nexcludepkgs=,dom0-tool\n').excluded).toEqual(['dom0-tool']);
    expect(conf('[main]\nexclude=kernel*\nexcludepkgs=\n').excluded).toEqual([]);
  });

  it('takes the last value of a key given twice, at its first place', () => {
    expect(conf('[main]\nexcludepkgs=a\nexclude=b\nexcludepkgs=c\n').excluded).toEqual(['c', 'b']);
  });

  it('reads an indented line as the continuation of the value above', () => {
    expect(conf('[main]\nexcludepkgs=a,\n  b c\n\tinstallonlypkgs=d\n').excluded).toEqual(['a', 'b', 'c', 'installonlypkgs=d']);
  });

  it('ignores other sections, and comments that start in the first column', () => {
    expect(conf('[main]\n#excludepkgs=a\n; installonlypkgs=x\nexcludepkgs=b\n[updates]\nexcludepkgs=c\ninstallonlypkgs=y\n').excluded).toEqual(['b']);
    expect(conf('[updates]\nexcludepkgs=c\n').excluded).toEqual([]);
  });

  it('keeps [main]\'s exclusions whatever disable_excludes says: dom0\'s dnf runs with it cleared', () => {
    for (const disabled of ['main', 'all', 'updates']) expect(conf(`[main]\nexcludepkgs=a\ndisable_excludes=${disabled}\n`).excluded).toEqual(['a']);
  });

  it('reads nothing from a file dnf itself refuses (it would not run at all)', () => {
    const refused = ['excludepkgs=a\n', '[main]\n  excludepkgs=a\n', '[main]\nexcludepkgs\n', '[main]\n=a\n', '[main\nexcludepkgs=a\n', '[main] xy\nexcludepkgs=a\n', '[]\nexcludepkgs=a\n'];
    // an empty or comment line ends a value: an indented line after it continues nothing
    refused.push('[main]\nexcludepkgs=a\n\n b\n', '[main]\nexcludepkgs=a\n# c\n b\n');
    for (const text of refused) {
      expect(conf(text), JSON.stringify(text)).toEqual({ installOnly: DEFAULT_INSTALL_ONLY, excluded: [], included: [] });
    }
  });

  it('reads dnf\'s defaults from a file that is not UTF-8, whose values dnf cannot read', () => {
    const path = join(dir, 'latin1.conf');
    writeFileSync(path, Buffer.from('[main]\nexcludepkgs=caf\xe9\n', 'latin1'));
    expect(readDnfConfMain(path)).toEqual({ installOnly: DEFAULT_INSTALL_ONLY, excluded: [], included: [] });
  });

  it('accepts a byte order mark, CRLF line ends and a comment after a section', () => {
    expect(conf('\uFEFF[main] # dom0\r\nexcludepkgs=a \r\n').excluded).toEqual(['a']);
  });
});

const scratch = mkdtempSync(join(tmpdir(), 'dnf-conf-'));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe("dom0's dnf.conf as dnf reads it", () => {
  it('strips a byte order mark from the first line only: on a later line it is part of the key, which dnf does not know', () => {
    const path = join(scratch, 'bom.conf');
    writeFileSync(path, '\uFEFF[main]\nexclude=bar\n\uFEFFexcludepkgs=foo\n');
    // python3-dnf reads the same file as excluding bar alone
    expect(readDnfConfMain(path).excluded).toEqual(['bar']);
  });

  it('closes a section name at its first ], as dnf does with a ] after it', () => {
    // python3-dnf reads both as [main]
    for (const header of ['[main]]', '[main] ]']) {
      const path = join(scratch, 'section.conf');
      writeFileSync(path, `${header}\nexcludepkgs=foo\n`);
      expect(readDnfConfMain(path).excluded, header).toEqual(['foo']);
    }
  });
});
