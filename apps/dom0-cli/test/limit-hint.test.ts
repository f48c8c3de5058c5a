import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type Config } from '../src/config.ts';
import { isStorageFailure, limitHint } from '../src/limit-hint.ts';

const local: Config = { ...DEFAULT_CONFIG, transport: 'local', maxFiles: 2, updatesDir: '/u' };

describe('the hint for a batch over dom0\'s own limits', () => {
  it('names MAX_FILES and its value for too many packages, with the flag where the flag reaches the receiver', () => {
    expect(limitHint('TAR_TOO_MANY_MEMBERS', local)).toBe(
      "the batch has more than 2 packages, dom0's limit (the package named is only the first past it); raise MAX_FILES in dom0's configuration (or --max-files=), up to 4096, or update fewer packages at a time by naming them",
    );
    // under qrexec the service reads the configuration file alone
    expect(limitHint('TAR_TOO_MANY_MEMBERS', { ...local, transport: 'qrexec' })).toContain("raise MAX_FILES in dom0's configuration file, up to 4096, or");
  });

  it('does not suggest raising MAX_FILES past 4096, the most the receiver takes', () => {
    expect(limitHint('TAR_TOO_MANY_MEMBERS', { ...local, maxFiles: 4096 })).toBe(
      "the batch has more than 4096 packages, dom0's limit (the package named is only the first past it), the most the receiver takes; update fewer packages at a time by naming them",
    );
  });

  it('names MAX_BYTES and its value when it is set', () => {
    const hint = limitHint('TAR_TOO_MANY_BYTES', { ...local, maxBytes: 1000 });
    expect(hint).toContain('the batch is over MAX_BYTES (1000 bytes; the package named is only the first past it); raise MAX_BYTES');
    expect(hint).toMatch(/or update fewer packages at a time by naming them$/);
    expect(limitHint('TAR_MEMBER_TOO_LARGE', { ...local, maxBytes: 1000 })).toMatch(/^the package is over MAX_BYTES \(1000 bytes\)/);
  });

  it('names the default byte limit and the free space of the updates dir when MAX_BYTES is unset', () => {
    expect(limitHint('TAR_MEMBER_TOO_LARGE', local)).toBe(
      "the package is over the receiver's default byte limit (4 GiB, or 90% of the free space of /u beyond a reserve of 5% of its file system (at most 1 GiB), rounded down, when that is less); free space there (`dom0-update --clean` empties the cached repository) or set MAX_BYTES in dom0's configuration (or --max-bytes=)",
    );
  });

  it('says "package" for a limit of one', () => {
    expect(limitHint('TAR_TOO_MANY_MEMBERS', { ...local, maxFiles: 1 })).toMatch(/^the batch has more than 1 package, dom0's limit/);
  });

  it('says that dom0 could not store the batch, and where to free space, when its own disk failed it', () => {
    for (const code of ['STAGE_IO', 'PUBLISH_FAILED', 'CREATEREPO_FAILED']) {
      expect(isStorageFailure(code)).toBe(true);
      expect(limitHint(code, local)).toBe('its reason is above (nothing says the packages are bad); when /u is full, free space there, then run again');
    }
    expect(isStorageFailure('RPM_SIG_BAD')).toBe(false);
  });

  it('says that createrepo_c could not describe a package it left out, and how to do without it', () => {
    expect(limitHint('CREATEREPO_FAILED', local, 'a-1-1.noarch.rpm')).toBe(
      'its reason is above: createrepo_c could not describe that validly signed package in the repository metadata, so no batch that holds it can be published; if this batch brought it, name the packages you want without it; if the cache holds it from before, `dom0-update --clean` drops it; when /u is full, free space there, then run again',
    );
    // other storage failures that name a member keep the general hint
    expect(limitHint('STAGE_IO', local, 'a-1-1.noarch.rpm')).toBe('its reason is above (nothing says the packages are bad); when /u is full, free space there, then run again');
  });

  it('names TIMEOUT, its value and the idle limit for a batch that did not arrive in time, and where to raise it', () => {
    expect(limitHint('TAR_TIMEOUT', { ...local, timeoutSeconds: 60 })).toBe(
      "the batch did not arrive within dom0's TIMEOUT (60 s), or the UpdateVM sent nothing for 60 s; on a slow link raise TIMEOUT in dom0's configuration (or --timeout=)",
    );
    expect(limitHint('TAR_TIMEOUT', { ...local, transport: 'qrexec' })).toBe(
      "the batch did not arrive within dom0's TIMEOUT (3600 s), or the UpdateVM sent nothing for 300 s; on a slow link raise TIMEOUT in dom0's configuration file",
    );
  });

  it('gives none for a rejection that is about the package itself', () => {
    for (const code of ['RPM_SIG_BAD', 'TAR_TRUNCATED', 'RPM_KEY_NOT_TRUSTED']) expect(limitHint(code, local)).toBeUndefined();
  });

  it('says that a build the cache holds with other bytes blocks every batch until --clean', () => {
    const hint = limitHint('RPM_CONFLICTS_PUBLISHED', local);
    expect(hint).toContain("dom0's cached repository already holds that file name (or one differing only in letter case) with other bytes (a build rebuilt or re-signed without a new release) or as something other than a file");
    expect(hint).toMatch(/every batch that holds it is refused until `dom0-update --clean` empties the cache, then run again$/);
    expect(isStorageFailure('RPM_CONFLICTS_PUBLISHED')).toBe(false);
  });
});
