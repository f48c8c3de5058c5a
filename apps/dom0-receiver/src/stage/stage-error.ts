import { sanitizeForTerminal } from '@dom0-updates/protocol';

/** A local I/O failure while staging a member (disk full, permission): not a verdict on its bytes. */
export class StageIoError extends Error {
  readonly code = 'STAGE_IO';
  readonly member: string;

  constructor(member: string, cause: unknown) {
    const errno = (cause as NodeJS.ErrnoException).code ?? 'error';
    const reason = cause instanceof Error ? cause.message : String(cause);
    const shown = sanitizeForTerminal(member, 300);
    super(sanitizeForTerminal(`cannot stage (${errno}): ${reason}`));
    this.name = 'StageIoError';
    this.member = shown;
  }
}
