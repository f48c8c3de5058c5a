import { UsageError } from '../errors.ts';
import { sanitize } from '../text.ts';

/**
 * What one dnf run may take in the UpdateVM. A hostile mirror can serve a repomd.xml or primary.xml
 * without end (librepo writes it to the cache until dom0's deadline) or a small compressed file
 * that inflates in libsolv (a 51 KB zstd bomb took dnf to 3.3 GB). The package bodies are bounded
 * by the transaction's own size (commands/download.ts).
 */
export interface DnfLimits {
  /** How much dnf's metadata cache may grow during one dnf run (`--max-metadata-bytes`). */
  readonly maxMetadataBytes: number;
  /** dnf's data segment (RLIMIT_DATA, set with util-linux prlimit; `--max-dnf-memory`). */
  readonly maxMemoryBytes: number;
}

const GIB = 1024 ** 3;

/**
 * A real Fedora release's repositories (fedora, updates, with filelists and dnf's solv caches)
 * take a few hundred MiB in the cache, and dnf 4 needs about 1-2 GiB of memory to load them.
 */
export const DEFAULT_DNF_LIMITS: DnfLimits = { maxMetadataBytes: GIB, maxMemoryBytes: 3 * GIB };

const DECIMAL = /^[1-9][0-9]*$/;

/** A byte count from the command line: a positive decimal integer, as the receiver's `--max-bytes`. */
export function parseByteLimit(text: string, option: string): number {
  const value = Number(text);
  if (!DECIMAL.test(text) || !Number.isSafeInteger(value)) {
    throw new UsageError('BAD_LIMIT', `${option} must be a positive whole number of bytes, not "${sanitize(text, 40)}"`);
  }
  return value;
}
