/**
 * The settings of dom0's dnf.conf that dom0-update must know to tell what dnf will do with the
 * cached repository. dnf reads the file itself; this reads it as dnf 4 (libdnf 0.69) does, rule
 * for rule, so a package dom0's dnf leaves out on dom0's own say is neither counted as an update
 * nor blamed on dnf, and nothing dnf would install is taken for excluded. (dnf-conf-vs-dnf.test.ts
 * compares the two on the same files.) Variables such as $basearch stay as they are: dnf 4 reads
 * [main] without substituting them, so such an entry names no package, for dnf as here.
 */
import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';

export interface DnfConfMain {
  /** `installonlypkgs`: dnf's defaults, with what the file adds (or in their place). */
  readonly installOnly: readonly string[];
  /**
   * `excludepkgs` and its alias `exclude`. A `disable_excludes` changes nothing: dom0's dnf runs
   * with it cleared (dom0-dnf.ts), so [main]'s exclusions always hold there.
   */
  readonly excluded: readonly string[];
  /**
   * `includepkgs`: when it names anything, dnf sees only the builds it names. Unlike the two above
   * it does not append (its last setting wins) and has no `include` alias.
   */
  readonly included: readonly string[];
}

/** dnf's default installonlypkgs: provide names whose packages are kept side by side. */
export const DEFAULT_INSTALL_ONLY: readonly string[] = ['kernel', 'kernel-PAE', 'installonlypkg(kernel)', 'installonlypkg(kernel-module)', 'installonlypkg(vm)', 'multiversion(kernel)'];

const NOTHING: DnfConfMain = { installOnly: DEFAULT_INSTALL_ONLY, excluded: [], included: [] };

const BLANK = new Set([' ', '\t', '\r']);
/** The UTF-8 byte order mark, as the text is read: one character per byte. */
const BOM = '\u00EF\u00BB\u00BF';

function firstNonBlank(line: string, from = 0): number {
  for (let i = from; i < line.length; i++) if (!BLANK.has(line[i] ?? '')) return i;
  return -1;
}

function lastNonBlank(line: string): number {
  for (let i = line.length - 1; i >= 0; i--) if (!BLANK.has(line[i] ?? '')) return i;
  return -1;
}

/**
 * The [main] keys and values in dnf's order: a key that appears again (in [main] or in a second
 * [main]) keeps its first place and takes its last value. Comments and keys start in column 0; an
 * indented line continues the value above unless an empty or comment line came between (a line of
 * blanks does not break it). Undefined for what dnf's parser refuses (dnf then does not run at all).
 */
function mainSection(text: string): Map<string, string> | undefined {
  const main = new Map<string, string>();
  let section: string | undefined;
  let key: string | undefined;
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  for (const [n, raw] of lines.entries()) {
    const line = n === 0 && raw.startsWith(BOM) ? raw.slice(BOM.length) : raw;
    if (line === '' || line.startsWith('#') || line.startsWith(';')) {
      key = undefined;
      continue;
    }
    const start = firstNonBlank(line);
    if (start === -1) continue;
    const end = lastNonBlank(line);
    if (line[start] === '[') {
      const close = line.indexOf(']', start + 1);
      if (close === -1 || close === start + 1) return undefined;
      // as dnf checks it: up to a comment, but not the line's last non-blank character
      for (let i = close + 1; i < end; i++) {
        const ch = line[i] ?? '';
        if (ch === '#' || ch === ';') break;
        if (!BLANK.has(ch)) return undefined;
      }
      section = line.slice(start + 1, close);
      key = undefined;
      continue;
    }
    if (section === undefined) return undefined;
    if (start > 0) {
      if (key === undefined) return undefined;
      if (section === 'main') main.set(key, `${main.get(key) ?? ''}\n${line.slice(start, end + 1)}`);
      continue;
    }
    const equals = line.indexOf('=');
    if (equals <= 0) return undefined;
    key = line.slice(0, equals).replace(/[ \t]+$/, '');
    const valueAt = line.slice(equals + 1).search(/[^ \t]/);
    const from = equals + 1 + valueAt;
    // up to the last non-blank; where only blanks are left from a CR on, dnf's length wraps and it
    // takes the rest of the line
    const length = end - from + 1;
    const value = valueAt === -1 ? '' : length >= 0 ? line.slice(from, from + length) : line.slice(from);
    if (section === 'main') main.set(key, value);
  }
  for (const [name, value] of main) main.set(name, settingValue(value));
  return main;
}

/** One pair of matching quotes around the whole value goes; an empty value or `None` is empty. */
function settingValue(raw: string): string {
  const quoted = raw.length > 1 && (raw[0] === '"' || raw[0] === "'") && raw.at(-1) === raw[0];
  const value = quoted ? raw.slice(1, -1) : raw;
  return value === 'None' ? '' : value;
}

/**
 * libdnf's list split: at spaces, commas and newlines only (a tab is part of an entry); a comma or
 * newline after spaces is one separator with them. An empty entry can come first (`,x`).
 */
function listEntries(value: string): string[] {
  const entries: string[] = [];
  const notSpace = (from: number): number => {
    for (let i = from; i < value.length; i++) if (value[i] !== ' ') return i;
    return -1;
  };
  let start = notSpace(0);
  while (start !== -1) {
    let end = -1;
    for (let i = start; i < value.length; i++) {
      if (value[i] === ' ' || value[i] === ',' || value[i] === '\n') {
        end = i;
        break;
      }
    }
    if (end === -1) {
      entries.push(value.slice(start));
      break;
    }
    entries.push(value.slice(start, end));
    start = notSpace(end + 1);
    if (start !== -1 && value[start] === ',' && value[end] === ' ') {
      end = start;
      start = notSpace(start + 1);
    }
    if (start !== -1 && value[start] === '\n' && (value[end] === ' ' || value[end] === ',')) start = notSpace(start + 1);
  }
  return entries;
}

/** dnf's appending lists: each setting adds its entries; an empty one, or one whose first entry is empty, first clears the list. */
function appended(initial: readonly string[], values: readonly string[]): string[] {
  let list = [...initial];
  for (const value of values) {
    if (value === '') {
      list = [];
      continue;
    }
    listEntries(value).forEach((entry, i) => {
      if (entry !== '') list.push(entry);
      else if (i === 0) list = [];
    });
  }
  return list;
}

/** What dom0's dnf.conf says; dnf's defaults for a file that is missing, unreadable or that dnf would refuse. */
export function readDnfConfMain(path: string): DnfConfMain {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return NOTHING;
  }
  // dnf's Python side refuses a value that is not UTF-8; its parser counts bytes, so the text is
  // read one character per byte (latin1) and the entries decoded as UTF-8 afterwards
  if (!isUtf8(bytes)) return NOTHING;
  const main = mainSection(bytes.toString('latin1'));
  if (main === undefined) return NOTHING;
  const valuesOf = (...keys: string[]): string[] => [...main].filter(([key]) => keys.includes(key)).map(([, value]) => value);
  const utf8 = (entry: string): string => Buffer.from(entry, 'latin1').toString('utf8');
  return {
    installOnly: appended(DEFAULT_INSTALL_ONLY, valuesOf('installonlypkgs')).map(utf8),
    excluded: appended([], valuesOf('exclude', 'excludepkgs')).map(utf8),
    included: listEntries(main.get('includepkgs') ?? '').filter((entry) => entry !== '').map(utf8),
  };
}
