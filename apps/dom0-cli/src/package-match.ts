/**
 * Whether a package name answers a package spec the user gave (name, name-version, NEVRA or glob).
 * After the name, a spec may go on only with a version (`-` then a digit or `epoch:`) or an arch
 * (`.`): `qubes-foo-bar` does not name `qubes` or `qubes-foo`.
 */
export function matchesSpec(name: string, spec: string): boolean {
  if (spec === name) return true;
  if (spec.startsWith(`${name}-`) && /^\d/.test(spec.slice(name.length + 1))) return true;
  if (spec.startsWith(`${name}.`) && /^[A-Za-z0-9_]+$/.test(spec.slice(name.length + 1))) return true;
  if (!/[*?]/.test(spec)) return false;
  const pattern = spec.replace(/[.+^$()|{}\\[\]]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
  return new RegExp(`^${pattern}$`).test(name);
}
