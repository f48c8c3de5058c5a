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
  /** dnf's data segment (RLIMIT_DATA, set with the shell's `ulimit -d`; `--max-dnf-memory`). */
  readonly maxMemoryBytes: number;
}

const GIB = 1024 ** 3;

/**
 * A real Fedora release's repositories (fedora, updates, with filelists and dnf's solv caches)
 * take a few hundred MiB in the cache; dnf 4 loading a repository of Fedora's size (70,000 packages)
 * peaked at about 0.3 GiB of data segment.
 */
export const DEFAULT_DNF_LIMITS: DnfLimits = { maxMetadataBytes: GIB, maxMemoryBytes: 3 * GIB };

const DECIMAL = /^[1-9][0-9]*$/;
const MIB = 1024 ** 2;

/**
 * The smallest limits taken: below them dnf cannot start at all (under a 1 MB data segment it
 * dies by SIGSEGV without a word), and its failure would read as a crash or a hostile mirror.
 */
export const LIMIT_FLOORS: Readonly<Record<'--max-metadata-bytes' | '--max-dnf-memory', number>> = { '--max-metadata-bytes': MIB, '--max-dnf-memory': 256 * MIB };

/** A byte count from the command line: a decimal integer, as the receiver's `--max-bytes`, at least the option's floor. */
export function parseByteLimit(text: string, option: keyof typeof LIMIT_FLOORS): number {
  const value = Number(text);
  const floor = LIMIT_FLOORS[option];
  if (!DECIMAL.test(text) || !Number.isSafeInteger(value) || value < floor) {
    throw new UsageError('BAD_LIMIT', `${option} must be a whole number of bytes of at least ${floor} (${floor / MIB} MiB), not "${sanitize(text, 40)}"`);
  }
  return value;
}
