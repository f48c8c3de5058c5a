import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/**
 * One member's file in the staging directory (the stage's working directory). Created
 * exclusively without following links, mode 0644: the sender's modes, owners and times never
 * reach the disk.
 */
export class StagedFile {
  readonly #handle: FileHandle;
  #closed = false;

  private constructor(handle: FileHandle) {
    this.#handle = handle;
  }

  static async create(name: string): Promise<StagedFile> {
    // the permission model forbids fchmod here; the receiver sets the final mode when publishing
    const handle = await open(name, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    return new StagedFile(handle);
  }

  async write(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const { bytesWritten } = await this.#handle.write(chunk, offset, chunk.length - offset, null);
      offset += bytesWritten;
    }
  }

  /** fsync before close: the parent publishes these files and relies on them being on disk. */
  async commit(): Promise<void> {
    await this.#handle.datasync();
    await this.close();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }
}
