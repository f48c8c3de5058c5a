import { statfs } from 'node:fs/promises';
import type { DecodeLimits } from '@dom0-updates/protocol';
import { parseMaxFiles, parsePositiveInteger } from '../cli/args.ts';

const GIB = 1024 ** 3;
/**
 * Qubes' defaults (qfile-dom0-unpacker): 4096 files, 4 GiB or 90% of the free space (here of the
 * space free beyond a reserve, freeSpaceCap). 4096 files is also the most a reply can name
 * (parseMaxFiles), so that default is the largest limit allowed.
 */
export const DEFAULT_MAX_FILES = 4096;
export const DEFAULT_MAX_BYTES = 4 * GIB;
export const DEFAULT_TIMEOUT_SECONDS = 2 * 60 * 60;
export const DEFAULT_IDLE_TIMEOUT_SECONDS = 5 * 60;

export interface LimitInputs {
  readonly maxFiles: number | undefined;
  readonly maxBytes: number | undefined;
  readonly timeoutSeconds: number | undefined;
  readonly idleTimeoutSeconds: number | undefined;
}

/** Reads UPDATES_MAX_FILES / UPDATES_MAX_BYTES like Qubes does; the flags win over them. */
function fromEnv(env: NodeJS.ProcessEnv, name: string, parse: (text: string, what: string) => number): number | undefined {
  const text = env[name];
  return text === undefined || text === '' ? undefined : parse(text, name);
}

/**
 * Space on the updates dir's file system that no batch may take: 5% of its size, at most 1 GiB.
 * The cached repository keeps every batch until a clean and the UpdateVM may call at will, so
 * batch after batch at 90% of what is free would take the disk to its last block; with the reserve
 * they stop short of it, and dom0 keeps room to run (a full root file system stops its services).
 */
const RESERVE_FRACTION = 0.05;
const RESERVE_MAX_BYTES = GIB;

/**
 * 90% of the space the receiver may use on the updates dir's filesystem beyond the reserve,
 * rounded down to a coarse step (coarseBytes). A file system that reports no size at all (ramfs:
 * zero blocks, zero free) gives no figure to take 90% of, so only the 4 GiB default bounds it; a
 * full disk, which reports its size, still gives 0.
 */
export async function freeSpaceCap(updatesDir: string): Promise<number> {
  const fs = await statfs(updatesDir);
  if (fs.blocks === 0) return Number.POSITIVE_INFINITY;
  const reserve = Math.min(RESERVE_MAX_BYTES, Math.floor(fs.blocks * fs.bsize * RESERVE_FRACTION));
  return coarseBytes(Math.floor(Math.max(0, fs.bavail * fs.bsize - reserve) * 0.9));
}

/**
 * `bytes` rounded down to 4, 5, 6 or 7 times a power of two (four steps per doubling: 48 MiB,
 * 56 MiB, 64 MiB, 80 MiB...). The UpdateVM can call at will and tell from the verdict on a
 * declared size whether it was over the limit; a limit of exact free space would let it measure
 * dom0's disk use to the byte, a coarse one only to within a step.
 */
export function coarseBytes(bytes: number): number {
  if (bytes < 8) return Math.max(0, Math.floor(bytes));
  const step = 2 ** (Math.floor(Math.log2(bytes)) - 2);
  return Math.floor(bytes / step) * step;
}

/** The longest wait for the sender: for its next bytes, and for it to take the reply. */
export function idleTimeoutSeconds(input: Pick<LimitInputs, 'timeoutSeconds' | 'idleTimeoutSeconds'>): number {
  return input.idleTimeoutSeconds ?? Math.min(DEFAULT_IDLE_TIMEOUT_SECONDS, input.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS);
}

/** The caps for one batch: set by dom0's flags or environment, never by the sender. */
export async function resolveLimits(input: LimitInputs, env: NodeJS.ProcessEnv, updatesDir: string): Promise<DecodeLimits> {
  const maxMembers = input.maxFiles ?? fromEnv(env, 'UPDATES_MAX_FILES', parseMaxFiles) ?? DEFAULT_MAX_FILES;
  const explicitBytes = input.maxBytes ?? fromEnv(env, 'UPDATES_MAX_BYTES', parsePositiveInteger);
  const maxTotalBytes = explicitBytes ?? Math.max(0, Math.min(DEFAULT_MAX_BYTES, await freeSpaceCap(updatesDir)));
  const overall = input.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  const idle = idleTimeoutSeconds(input);
  return {
    maxMembers,
    maxMemberBytes: maxTotalBytes,
    maxTotalBytes,
    idleTimeoutMs: idle * 1000,
    overallTimeoutMs: overall * 1000,
  };
}
