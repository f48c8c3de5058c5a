/**
 * dnf has no --dbpath: it takes rpm's %_dbpath macro, which rpm reads from system macro files and
 * from HOME/.rpmmacros (Debian's rpm defaults it to ~/.rpmdb). dom0-update reads the rpmdb at
 * RPMDB_PATH itself (installed.ts), so its dnf must read the same one, or dnf sees another database
 * (an empty one on Debian) and finds "nothing to do". dom0's dnf therefore runs with HOME set to a
 * private directory whose .rpmmacros names RPMDB_PATH, and nothing else of a home directory.
 */
import { writeRunTempFile } from './run-temp-dirs.ts';

/** A fresh 0700 directory holding `.rpmmacros` with `%_dbpath <rpmdbPath>`; the caller removes it. */
export function writeDnfHome(rpmdbPath: string): string {
  return writeRunTempFile('home', '.rpmmacros', rpmMacros(rpmdbPath));
}

/** rpm expands a `%` in the value at use, `%%` or not: config refuses such an RPMDB_PATH, and so does this. */
export function rpmMacros(rpmdbPath: string): string {
  if (rpmdbPath.includes('%') || /[\0-\x1f\x7f]/.test(rpmdbPath)) throw new RangeError('an rpmdb path with "%" or a control character cannot be given to rpm');
  return `%_dbpath ${rpmdbPath}\n`;
}
