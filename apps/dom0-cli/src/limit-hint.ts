/**
 * A batch refused for dom0's own limits, lost to dom0's own storage, or in conflict with dom0's
 * own cache says so: the package the receiver names is only the one that crossed the limit, or
 * met the cache, and nothing says it is bad.
 */
import { MAX_REPLY_PACKAGES } from '@dom0-updates/protocol';
import type { Config } from './config.ts';

/** The receiver's codes for a batch dom0 itself could not store (a full disk, createrepo_c): no verdict on the packages. */
export function isStorageFailure(code: string): boolean {
  return code === 'STAGE_IO' || code === 'PUBLISH_FAILED' || code === 'CREATEREPO_FAILED';
}

/** Where the user changes a limit: under qrexec the service reads the configuration file alone. */
const FLAGS = { MAX_FILES: '--max-files=', MAX_BYTES: '--max-bytes=', TIMEOUT: '--timeout=' } as const;

function whereToSet(config: Config, key: keyof typeof FLAGS): string {
  const flag = FLAGS[key];
  return config.transport === 'qrexec' ? `${key} in dom0's configuration file` : `${key} in dom0's configuration (or ${flag})`;
}

/**
 * The hint for a rejection code, or undefined when the code is not one of dom0's batch limits or
 * storage failures. `member`: the package the receiver named (for CREATEREPO_FAILED, only one that
 * createrepo_c left out of the metadata).
 */
export function limitHint(code: string, config: Config, member?: string): string | undefined {
  const fewer = 'or update fewer packages at a time by naming them';
  switch (code) {
    case 'TAR_TOO_MANY_MEMBERS': {
      const over = `the batch has more than ${config.maxFiles} package${config.maxFiles === 1 ? '' : 's'}, dom0's limit (the package named is only the first past it)`;
      // MAX_FILES cannot go above what the receiver's reply can name
      if (config.maxFiles >= MAX_REPLY_PACKAGES) return `${over}, the most the receiver takes; update fewer packages at a time by naming them`;
      return `${over}; raise ${whereToSet(config, 'MAX_FILES')}, up to ${MAX_REPLY_PACKAGES}, ${fewer}`;
    }
    case 'TAR_MEMBER_TOO_LARGE':
    case 'TAR_TOO_MANY_BYTES': {
      const what = code === 'TAR_MEMBER_TOO_LARGE' ? 'the package is' : 'the batch is';
      // fewer packages at a time cannot help one package that is over the limit by itself
      const orFewer = code === 'TAR_MEMBER_TOO_LARGE' ? '' : `, ${fewer}`;
      const firstPast = code === 'TAR_MEMBER_TOO_LARGE' ? '' : '; the package named is only the first past it';
      if (config.maxBytes !== undefined) {
        return `${what} over MAX_BYTES (${config.maxBytes} bytes${firstPast}); raise ${whereToSet(config, 'MAX_BYTES')}${orFewer}`;
      }
      return (
        `${what} over the receiver's default byte limit (4 GiB, or 90% of the free space of ${config.updatesDir} beyond a reserve of 5% of its file system (at most 1 GiB), rounded down, when that is less${firstPast}); ` +
        `free space there (\`dom0-update --clean\` empties the cached repository) or set ${whereToSet(config, 'MAX_BYTES')}${orFewer}`
      );
    }
    case 'TAR_TIMEOUT': {
      // the receiver's own deadlines: the whole batch within TIMEOUT, and no pause over min(300 s, TIMEOUT)
      return `the batch did not arrive within dom0's TIMEOUT (${String(config.timeoutSeconds)} s), or the UpdateVM sent nothing for ${String(Math.min(300, config.timeoutSeconds))} s; on a slow link raise ${whereToSet(config, 'TIMEOUT')}`;
    }
    case 'RPM_CONFLICTS_PUBLISHED':
      // published files are never replaced, so every later batch with this build fails the same way
      return (
        "dom0's cached repository already holds that file name (or one differing only in letter case) with other bytes " +
        '(a build rebuilt or re-signed without a new release) or as something other than a file; every batch that holds it is refused until ' +
        '`dom0-update --clean` empties the cache, then run again'
      );
    case 'CREATEREPO_FAILED':
      if (member !== undefined) {
        return (
          'its reason is above: createrepo_c could not describe that validly signed package in the repository metadata, so no batch that holds it can be ' +
          `published; if this batch brought it, name the packages you want without it; if the cache holds it from before, \`dom0-update --clean\` drops it; ` +
          `when ${config.updatesDir} is full, free space there, then run again`
        );
      }
      return storageHint(config);
    default:
      return isStorageFailure(code) ? storageHint(config) : undefined;
  }
}

function storageHint(config: Config): string {
  return `its reason is above (nothing says the packages are bad); when ${config.updatesDir} is full, free space there, then run again`;
}
