/** Whether a package spec is a glob, as dnf reads it (fnmatch): `*`, `?` or a `[...]` class. */
export function isGlob(spec: string): boolean {
  return /[*?[]/.test(spec);
}

const escapeForRegExp = (ch: string): string => (/[.+^$()|{}\\[\]*?/-]/.test(ch) ? `\\${ch}` : ch);

/**
 * A `[...]` class at `spec[start]` as a regular expression, and the index after it; undefined when
 * the `[` opens nothing (no closing `]`), so it stands for itself, as in fnmatch. A `]` right after
 * `[` or `[!` is literal; `!` or `^` first negates; a range written backwards matches nothing.
 */
function bracketClass(spec: string, start: number): { readonly source: string; readonly end: number } | undefined {
  let i = start + 1;
  const negated = spec[i] === '!' || spec[i] === '^';
  if (negated) i++;
  const first = i;
  while (i < spec.length && (spec[i] !== ']' || i === first)) i++;
  if (i >= spec.length) return undefined;
  // specs are ASCII (the command line's pattern), so one UTF-16 unit is one character
  const members = spec.slice(first, i);
  let source = '';
  for (let m = 0; m < members.length; m++) {
    const [from, dash, to] = [members.charAt(m), members[m + 1], members[m + 2]];
    if (dash === '-' && to !== undefined) {
      if (from > to) return { source: negated ? '[^]' : '(?!)', end: i + 1 };
      source += `${escapeForRegExp(from)}-${escapeForRegExp(to)}`;
      m += 2;
    } else {
      source += escapeForRegExp(from);
    }
  }
  return { source: `[${negated ? '^' : ''}${source}]`, end: i + 1 };
}

function globToRegExp(spec: string): RegExp {
  let source = '';
  for (let i = 0; i < spec.length; ) {
    const ch = spec[i] ?? '';
    const bracket = ch === '[' ? bracketClass(spec, i) : undefined;
    if (bracket !== undefined) {
      source += bracket.source;
      i = bracket.end;
      continue;
    }
    source += ch === '*' ? '.*' : ch === '?' ? '.' : escapeForRegExp(ch);
    i++;
  }
  return new RegExp(`^${source}$`);
}

/**
 * Whether a package name answers a package spec the user gave (name, name-version, NEVRA or glob).
 * After the name, a spec may go on only with a version (`-` then a digit or `epoch:`) or an arch
 * (`.`): `qubes-foo-bar` does not name `qubes` or `qubes-foo`.
 */
export function matchesSpec(name: string, spec: string): boolean {
  if (spec === name) return true;
  if (spec.startsWith(`${name}-`) && /^\d/.test(spec.slice(name.length + 1))) return true;
  if (spec.startsWith(`${name}.`) && /^[A-Za-z0-9_]+$/.test(spec.slice(name.length + 1))) return true;
  return isGlob(spec) && globToRegExp(spec).test(name);
}
