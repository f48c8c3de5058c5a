/**
 * The settings of dom0's dnf.conf that dom0-update must know to tell what dnf will do with the
 * cached repository. dnf reads the file itself; this reads it as dnf's ini parser does, so a
 * package dom0's dnf leaves out on dom0's own say is neither counted as an update nor blamed on dnf.
 */
import { readFileSync } from 'node:fs';

export interface DnfConfMain {
  /** `installonlypkgs` (dnf appends them to its defaults). */
  readonly installOnly: readonly string[];
  /** `excludepkgs` and its alias `exclude`, unless `disable_excludes` turns them off for [main]. */
  readonly excluded: readonly string[];
}

const NOTHING: DnfConfMain = { installOnly: [], excluded: [] };

/** dnf splits a list setting at commas and whitespace (a continuation line's newline included). */
function listEntries(value: string): string[] {
  return value.split(/\s*[,\s]\s*/);
}

/**
 * The [main] keys and values in dnf's order: a key that appears again keeps its first place and
 * takes its last value. Comments start in column 0, a key too; an indented line continues the
 * value above. Undefined for what dnf's parser refuses (dnf then refuses to run at all).
 */
function mainSection(text: string): Map<string, string> | undefined {
  const main = new Map<string, string>();
  let section: string | undefined;
  let key: string | undefined;
  for (const raw of text.replace(/^\uFEFF/, '').split('\n')) {
    if (raw.startsWith('#') || raw.startsWith(';')) continue;
    const line = raw.replace(/[ \t\r]+$/, '');
    const start = line.search(/[^ \t\r]/);
    if (start === -1) continue;
    if (line[start] === '[') {
      const end = line.indexOf(']', start);
      if (end <= start + 1 || !/^[ \t\r]*(?:[#;].*)?$/.test(line.slice(end + 1))) return undefined;
      section = line.slice(start + 1, end);
      key = undefined;
      continue;
    }
    if (section === undefined) return undefined;
    if (start > 0) {
      if (key === undefined) return undefined;
      if (section === 'main') main.set(key, `${main.get(key) ?? ''}\n${line.slice(start)}`);
      continue;
    }
    const equals = line.indexOf('=');
    if (equals <= 0) return undefined;
    key = line.slice(0, equals).replace(/[ \t]+$/, '');
    if (section === 'main') main.set(key, line.slice(equals + 1).replace(/^[ \t]+/, ''));
  }
  return main;
}

/** dnf's exclusions: each setting adds its entries, and one that starts with an empty entry first clears the list. */
function exclusions(main: ReadonlyMap<string, string>): string[] {
  let excluded: string[] = [];
  for (const [key, value] of main) {
    if (key !== 'exclude' && key !== 'excludepkgs') continue;
    const entries = listEntries(value);
    if (entries[0] === '') excluded = [];
    excluded.push(...entries.filter((entry) => entry !== ''));
  }
  const disabled = listEntries(main.get('disable_excludes') ?? '');
  return disabled.includes('all') || disabled.includes('main') ? [] : excluded;
}

/** What dom0's dnf.conf says; nothing for a file that is missing, unreadable or that dnf would refuse. */
export function readDnfConfMain(path: string): DnfConfMain {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return NOTHING;
  }
  const main = mainSection(text);
  if (main === undefined) return NOTHING;
  return {
    installOnly: listEntries(main.get('installonlypkgs') ?? '').filter((name) => name !== ''),
    excluded: exclusions(main),
  };
}
