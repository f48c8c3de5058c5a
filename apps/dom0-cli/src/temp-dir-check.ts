/**
 * TMPDIR, checked before the UpdateVM is asked for anything when the run will install: dom0's dnf
 * gets its repository definition and its HOME from fresh directories there, and rpm's key check a
 * scratch database. A TMPDIR that is missing would otherwise fail only after the whole download,
 * one holding a space or comma would make dnf split its reposdir setting and find no repository,
 * one holding `%` would have rpm expand it as a macro, and a relative one is read by rpm and dnf
 * (and by dom0-update's paths handed to them) from another directory: its key check then fails as
 * "GPG check FAILED", which names the keys, not TMPDIR.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute } from 'node:path';
import { ConfigError } from './errors.ts';

/** What dnf splits a list setting such as reposdir at (libdnf's string lists). */
export const DNF_LIST_SEPARATOR = /[\s,]/;

const codeOf = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? String(error);

/** Throws CONFIG_TMPDIR_UNUSABLE naming the reason; `dir` is what Node takes from TMPDIR. */
export function checkTempDir(dir: string = tmpdir()): void {
  const unusable = (why: string): ConfigError =>
    new ConfigError('CONFIG_TMPDIR_UNUSABLE', `the temporary directory ${dir} (TMPDIR) cannot be used: ${why}; dom0's dnf needs it to install`);
  if (!isAbsolute(dir)) {
    throw unusable('it is not an absolute path, which rpm and dnf would read from another directory; set TMPDIR to an absolute path');
  }
  if (DNF_LIST_SEPARATOR.test(dir)) {
    throw unusable('it holds a space or comma, where dnf would split the repository directory it is given; set TMPDIR to a path without them');
  }
  if (dir.includes('%')) {
    throw unusable('it holds a "%", which rpm would expand as a macro in the scratch database made there; set TMPDIR to a path without it');
  }
  let isDirectory;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch (error) {
    throw unusable(codeOf(error) === 'ENOENT' ? 'it does not exist (ENOENT)' : codeOf(error));
  }
  if (!isDirectory) throw unusable('it is not a directory');
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw unusable(`it is not writable (${codeOf(error)})`);
  }
}
