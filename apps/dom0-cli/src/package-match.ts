/** Whether a package name answers a package spec the user gave (name, name-version, NEVRA or glob). */
export function matchesSpec(name: string, spec: string): boolean {
  if (spec === name || spec.startsWith(`${name}-`) || spec.startsWith(`${name}.`)) return true;
  if (!/[*?]/.test(spec)) return false;
  const pattern = spec.replace(/[.+^$()|{}\\[\]]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
  return new RegExp(`^${pattern}$`).test(name);
}
