import { sanitizeForTerminal } from '@dom0-updates/protocol';
import { spaceReason } from '../output/reason.ts';

/** A local I/O failure while staging a member (disk full, permission): not a verdict on its bytes. */
export class StageIoError extends Error {
  readonly code = 'STAGE_IO';
  readonly member: string;

  constructor(member: string, cause: unknown) {
    const errno = (cause as NodeJS.ErrnoException).code ?? 'error';
    const reason = cause instanceof Error ? cause.message : String(cause);
    const shown = sanitizeForTerminal(member, 300);
    // Node's own message already starts with the errno ("ENOSPC: no space left on device, write")
    const space = spaceReason(cause);
    const said = space !== undefined ? `${space}; without --max-bytes the byte limit is at most 90% of the space free when the batch starts, with it the file system may fill first` : (reason.startsWith(`${errno}:`) ? reason : `${errno}: ${reason}`);
    super(sanitizeForTerminal(`cannot stage: ${said}`));
    this.name = 'StageIoError';
    this.member = shown;
  }
}
