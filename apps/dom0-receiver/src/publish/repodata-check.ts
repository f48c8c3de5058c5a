import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { PublishError } from '../errors.ts';
import { readOwnFile } from '../updates-dir/read-own-file.ts';

export const REPOMD = 'repomd.xml';
/** Far above what createrepo_c writes (a few KiB). */
const MAX_REPOMD_BYTES = 1024 * 1024;
/** What dnf needs of every repository: without one of these it cannot resolve. */
const REQUIRED_TYPES = ['primary', 'filelists', 'other'] as const;
/** The names createrepo_c gives metadata files; an href to anything else is not its metadata. */
export const METADATA_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

interface RepomdRecord {
  readonly type: string;
  readonly file: string;
  readonly size: number;
  readonly sha256: string;
  readonly openSize: number | undefined;
  readonly openSha256: string | undefined;
}

function incomplete(why: string): PublishError {
  return new PublishError('CREATEREPO_FAILED', `createrepo_c exited 0, but the metadata it left is not whole: ${why}`);
}

async function readRepomd(repodata: string): Promise<string> {
  try {
    return await readOwnFile(join(repodata, REPOMD), MAX_REPOMD_BYTES);
  } catch (error) {
    throw incomplete(`${REPOMD} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** One `<data>` record of createrepo_c's repomd.xml, every field it always writes required. */
function parseRecord(type: string, body: string): RepomdRecord {
  const field = (pattern: RegExp, what: string): string => {
    const value = pattern.exec(body)?.[1];
    if (value === undefined) throw incomplete(`the ${type} record of ${REPOMD} has no ${what}`);
    return value;
  };
  const optional = (pattern: RegExp): string | undefined => pattern.exec(body)?.[1];
  const file = field(/<location href="repodata\/([^"]*)"\s*\/>/, 'location in repodata/');
  if (!METADATA_FILE.test(file) || file === REPOMD) throw incomplete(`the ${type} record of ${REPOMD} names an unexpected file`);
  const openSize = optional(/<open-size>(\d{1,15})<\/open-size>/);
  return {
    type,
    file,
    size: Number(field(/<size>(\d{1,15})<\/size>/, 'size')),
    sha256: field(/<checksum type="sha256">([0-9a-f]{64})<\/checksum>/, 'SHA-256 checksum'),
    openSize: openSize === undefined ? undefined : Number(openSize),
    openSha256: optional(/<open-checksum type="sha256">([0-9a-f]{64})<\/open-checksum>/),
  };
}

function parseRepomd(text: string): RepomdRecord[] {
  if (text.length === 0) throw incomplete(`${REPOMD} is empty`);
  if (!/^<\?xml [^>]*\?>\s*<repomd[\s>]/.test(text) || !/<\/repomd>\s*$/.test(text)) {
    throw incomplete(`${REPOMD} is cut short or not createrepo_c's repomd document`);
  }
  const records = [...text.matchAll(/<data type="([a-z_]{1,64})">([\s\S]*?)<\/data>/g)].map((m) => parseRecord(m[1] ?? '', m[2] ?? ''));
  for (const type of REQUIRED_TYPES) {
    if (!records.some((r) => r.type === type)) throw incomplete(`${REPOMD} has no ${type} record`);
  }
  return records;
}

/** SHA-256 and length of a file's bytes, and of what they decompress to when `gunzip` is set. */
async function digestOf(path: string, gunzip: boolean): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const sink = async (stream: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of stream) {
      hash.update(chunk);
      size += chunk.length;
    }
  };
  if (gunzip) await pipeline(createReadStream(path), createGunzip(), sink);
  else await pipeline(createReadStream(path), sink);
  return { sha256: hash.digest('hex'), size };
}

async function checkRecord(repodata: string, record: RepomdRecord): Promise<void> {
  const path = join(repodata, record.file);
  const named = `${record.type} (${record.file})`;
  let st;
  try {
    st = await lstat(path);
  } catch (error) {
    throw incomplete(`${named} is missing (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!st.isFile()) throw incomplete(`${named} is not a regular file`);
  if (st.size !== record.size) throw incomplete(`${named} has ${String(st.size)} bytes, ${REPOMD} says ${String(record.size)}`);
  if ((await digestOf(path, false)).sha256 !== record.sha256) throw incomplete(`${named} does not match its SHA-256 in ${REPOMD}`);
  if (record.openSha256 === undefined || !record.file.endsWith('.gz')) return;
  let opened;
  try {
    opened = await digestOf(path, true);
  } catch (error) {
    throw incomplete(`${named} does not decompress (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (opened.size !== record.openSize || opened.sha256 !== record.openSha256) {
    throw incomplete(`${named} does not decompress to the size and SHA-256 ${REPOMD} gives`);
  }
}

/**
 * createrepo_c can exit 0 having written nothing it promised: when a write fails (ENOSPC) it still
 * renames its temporary repodata into place, an empty repomd.xml included. Before a generation may
 * be switched to, its repomd.xml must be whole, name primary, filelists and other, and every file
 * it names must be there with the size and SHA-256 it lists (and decompress to the open size and
 * SHA-256). The files are the ones createrepo_c has just written, in the page cache.
 */
export async function checkRepodata(generationDir: string): Promise<void> {
  const repodata = join(generationDir, 'repodata');
  for (const record of parseRepomd(await readRepomd(repodata))) await checkRecord(repodata, record);
}
