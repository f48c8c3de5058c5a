import { ConfigError } from '../errors.ts';
import { MAX_SEQUENCE, type Layout } from '../updates-dir/layout.ts';
import { writeFileAtomic } from '../updates-dir/durable.ts';
import { highestGenerationSequence } from '../updates-dir/generations.ts';
import { readOwnFile } from '../updates-dir/read-own-file.ts';
import type { AcceptedPackage, Rejection } from './batch-outcome.ts';

export type { AcceptedPackage, Rejection } from './batch-outcome.ts';

export const RESULT_FORMAT = 1;
/** Far above a record of --max-files packages; a bigger file is not one of ours. */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;

interface RecordBase {
  readonly format: typeof RESULT_FORMAT;
  readonly sequence: number;
  readonly finishedAt: string;
}

export type ResultRecord =
  | (RecordBase & { readonly status: 'published'; readonly generation: string; readonly accepted: readonly AcceptedPackage[] })
  | (RecordBase & { readonly status: 'rejected'; readonly rejection: Rejection });

/** The sequence of the record on disk; undefined if there is none or it is unreadable. */
async function recordedSequence(layout: Layout): Promise<number | undefined> {
  try {
    const value: unknown = JSON.parse(await readOwnFile(layout.resultFile, MAX_RECORD_BYTES));
    if (typeof value === 'object' && value !== null && 'sequence' in value) {
      const seq = value.sequence;
      // one a next generation id could not hold is damage too: the next run would publish a
      // generation it then refuses as not generations/<id>, and so would every run after it
      if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0 && seq < MAX_SEQUENCE) return seq;
    }
  } catch {
    // a missing or damaged record restarts from the generations' numbering
  }
  return undefined;
}

/**
 * The next sequence number: above both the last record and every generation on disk, so it
 * keeps increasing across crashes that left a generation but no record.
 */
export async function nextSequence(layout: Layout): Promise<number> {
  const next = Math.max((await recordedSequence(layout)) ?? 0, await highestGenerationSequence(layout)) + 1;
  if (next > MAX_SEQUENCE) {
    throw new ConfigError('CONFIG_INVALID', `${layout.generations} holds a generation numbered ${String(MAX_SEQUENCE)}, the last a generation id can hold; move the updates dir away and start a new one`);
  }
  return next;
}

/**
 * Replaces the record (called with the lock held). `replaces` is the sequence of the record this
 * one overwrites (null: none was readable), so the orchestrator can tell when other batches
 * arrived between the record it saw before its run and this one: an UpdateVM may call the
 * service as often as it likes, and each call overwrites the record.
 */
export async function writeResultRecord(layout: Layout, record: ResultRecord): Promise<void> {
  const { format, sequence, ...outcome } = record;
  const replaces = (await recordedSequence(layout)) ?? null;
  await writeFileAtomic(layout.resultFile, `${JSON.stringify({ format, sequence, replaces, ...outcome }, null, 2)}\n`);
}
