import { join } from 'node:path';

/** Names inside the updates dir (see docs/ARCHITECTURE.md "Runtime layout"). */
export const REPO_LINK = 'repo';
export const GENERATIONS_DIR = 'generations';
export const STAGING_PREFIX = 'staging.';
export const RESULT_FILE = 'result.json';
export const LOCK_FILE = 'receiver.lock';
/** `receiver.lock.new.<hex>`: a lock file being filled before it is linked into place (lock.ts). */
export const LOCK_NEW_INFIX = '.new.';
/** Temporary names that only ever exist between a create and a rename. */
export const TMP_PREFIX = '.tmp.';

/** A generation id: zero-padded sequence (so names sort by age) and a random suffix. */
export const GENERATION_ID = /^(\d{12})-([0-9a-f]{8})$/;
/** The largest sequence a generation id's twelve digits hold. */
export const MAX_SEQUENCE = 999_999_999_999;

export interface Layout {
  readonly root: string;
  readonly repoLink: string;
  readonly generations: string;
  readonly resultFile: string;
  readonly lockFile: string;
}

export function layoutOf(updatesDir: string): Layout {
  return {
    root: updatesDir,
    repoLink: join(updatesDir, REPO_LINK),
    generations: join(updatesDir, GENERATIONS_DIR),
    resultFile: join(updatesDir, RESULT_FILE),
    lockFile: join(updatesDir, LOCK_FILE),
  };
}

export function generationSequence(id: string): number | undefined {
  const match = GENERATION_ID.exec(id);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
