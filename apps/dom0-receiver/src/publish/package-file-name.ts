import { PackageError } from '../errors.ts';
import type { AcceptedPackage } from './result-record.ts';

/** The file name rpmbuild gives a package: `<name>-<version>-<release>.<arch>.rpm`, no epoch. */
export function expectedFileName(nevra: AcceptedPackage['nevra']): string {
  return `${nevra.name}-${nevra.version}-${nevra.release}.${nevra.arch}.rpm`;
}

/**
 * A sender may not choose the file name a package is published under: it must be the one the
 * verified header gives, so a name in the repository always says what the file holds.
 */
export function checkFileName(pkg: AcceptedPackage): AcceptedPackage {
  const expected = expectedFileName(pkg.nevra);
  if (pkg.file !== expected) {
    throw new PackageError('RPM_FILE_NAME_MISMATCH', `the file name must be ${expected} (the verified package's name-version-release.arch.rpm), got ${pkg.file}`, pkg.file);
  }
  return pkg;
}
