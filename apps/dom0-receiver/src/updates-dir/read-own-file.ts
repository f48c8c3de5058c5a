import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

function failure(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * Reads a small file the receiver itself writes (its lock, its result record, createrepo_c's
 * repomd.xml) without trusting what is at the path now: a symlink is not followed (ELOOP), a FIFO
 * or device neither blocks the open nor is read, and no more than `maxBytes` are read. Errors
 * carry an errno-like `code`.
 */
export async function readOwnFile(path: string, maxBytes: number): Promise<string> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw failure(`${path} is not a regular file`, 'EFTYPE');
    if (info.size > maxBytes) throw failure(`${path} is larger than ${String(maxBytes)} bytes`, 'EFBIG');
    // one byte over its size: our files are replaced by rename, never grown in place
    const buffer = Buffer.alloc(info.size + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) throw failure(`${path} grew while it was read`, 'EAGAIN');
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    await handle.close();
  }
}
