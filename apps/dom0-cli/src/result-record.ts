/**
 * The receiver's result record (`<UPDATES_DIR>/result.json`), written atomically by dom0's own
 * receiver. It is the only thing dom0-update believes about a batch: whatever the agent printed,
 * a batch arrived only if the sequence moved, and it was accepted only if the record says so.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateError } from './errors.ts';

export interface ReceivedPackage {
  readonly file: string;
  readonly name: string;
  readonly epoch: number;
  readonly version: string;
  readonly release: string;
  readonly arch: string;
  /** For display: `name-[epoch:]version-release.arch`. */
  readonly nevra: string;
  readonly signer: string;
}

/**
 * What the install checks need of a verified build: one received in this run's batch, or one an
 * earlier run left in the cached repository.
 */
export type VerifiedBuild = Pick<ReceivedPackage, 'name' | 'epoch' | 'version' | 'release' | 'arch' | 'nevra'>;

interface RecordBase {
  readonly sequence: number;
  /**
   * The sequence of the record this one overwrote (null: none); undefined from a receiver that
   * does not write it.
   */
  readonly replaces: number | null | undefined;
}

export type ResultRecord =
  | (RecordBase & { readonly status: 'accepted'; readonly packages: readonly ReceivedPackage[] })
  | (RecordBase & {
      readonly status: 'rejected';
      readonly error: { readonly code: string; readonly member: string | undefined; readonly message: string };
    });

const RESULT_FILE = 'result.json';

/** Returns the record, or undefined when no batch was ever received. */
export function readResultRecord(updatesDir: string): ResultRecord | undefined {
  const path = join(updatesDir, RESULT_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateError('RESULT_UNREADABLE', `cannot read ${path}: ${(error as Error).message}`);
  }
  return parseResultRecord(text, path);
}

export function parseResultRecord(text: string, where: string): ResultRecord {
  const bad = (why: string): StateError => new StateError('RESULT_MALFORMED', `${where}: ${why}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad('not valid JSON');
  }
  if (!isObject(value)) throw bad('not a JSON object');
  const sequence = value['sequence'];
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 0) {
    throw bad('sequence is not a non-negative integer');
  }
  const replaces = value['replaces'];
  if (replaces !== undefined && replaces !== null && (typeof replaces !== 'number' || !Number.isSafeInteger(replaces) || replaces < 0 || replaces >= sequence)) {
    throw bad('replaces is not null or a non-negative integer below sequence');
  }
  // The receiver writes `published` + `accepted` and `rejected` + `rejection`; the older
  // spelling (`accepted` + `packages`, `error`) from the design notes is read too.
  const status = value['status'];
  if (status === 'published' || status === 'accepted') {
    const packages = value['accepted'] ?? value['packages'];
    if (!Array.isArray(packages)) throw bad('the accepted package list is not an array');
    return {
      sequence,
      replaces,
      status: 'accepted',
      packages: packages.map((p: unknown, i) => parsePackage(p, `accepted[${i}]`, bad)),
    };
  }
  if (status === 'rejected') {
    const error = value['rejection'] ?? value['error'];
    if (!isObject(error)) throw bad('a rejected record has no rejection');
    const code = error['code'];
    const member = error['member'];
    const message = error['message'];
    if (typeof code !== 'string' || typeof message !== 'string') throw bad('rejection.code or rejection.message missing');
    if (member !== undefined && member !== null && typeof member !== 'string') throw bad('rejection.member is not a string');
    return { sequence, replaces, status, error: { code, member: member ?? undefined, message } };
  }
  throw bad('status is neither "published" nor "rejected"');
}

function parsePackage(value: unknown, where: string, bad: (why: string) => StateError): ReceivedPackage {
  if (!isObject(value)) throw bad(`${where} is not an object`);
  // The NEVRA may be flat on the package or nested under `nevra`.
  const fields = isObject(value['nevra']) ? value['nevra'] : value;
  const file = value['file'];
  const { name, version, release, arch } = fields;
  const epoch = parseEpoch(fields['epoch']);
  const signer = signerText(value['signer']);
  if (
    typeof file !== 'string' ||
    typeof name !== 'string' ||
    typeof version !== 'string' ||
    typeof release !== 'string' ||
    typeof arch !== 'string' ||
    epoch === undefined ||
    signer === undefined
  ) {
    throw bad(`${where} lacks file, name, epoch, version, release, arch or signer`);
  }
  const nevra = `${name}-${epoch > 0 ? `${epoch}:` : ''}${version}-${release}.${arch}`;
  return { file, name, epoch, version, release, arch, nevra, signer };
}

function parseEpoch(epoch: unknown): number | undefined {
  if (epoch === undefined || epoch === null || epoch === '') return 0;
  const n = typeof epoch === 'string' && /^[0-9]{1,10}$/.test(epoch) ? Number(epoch) : epoch;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function signerText(signer: unknown): string | undefined {
  if (typeof signer === 'string') return signer;
  if (isObject(signer)) {
    const fingerprint = signer['fingerprint'];
    if (typeof fingerprint === 'string') return fingerprint;
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
