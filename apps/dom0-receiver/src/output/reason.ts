/**
 * The bare reason of an error whose message already names the member and code (rpm-verify:
 * `<member>: <CODE>: <reason>`, the protocol: `member <member>: <reason>`), so a line that shows
 * member and code itself reads `<member>: <CODE>: <reason>` once.
 */
export function bareReason(message: string, code: string, member: string | null | undefined): string {
  const prefixes = [`${code}: `];
  if (member !== null && member !== undefined) prefixes.unshift(`${member}: ${code}: `, `member ${member}: `);
  for (const prefix of prefixes) if (message.startsWith(prefix)) return message.slice(prefix.length);
  return message;
}

/** A file-system failure in a few words: its errno code (`EACCES`), else its message. */
export function errnoReason(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
}

/** Out of room: the usual cause of a failed stage or publication, said in words (Qubes issues 3408 and 5052). */
const SPACE: Readonly<Record<string, string>> = {
  ENOSPC: "the updates dir's file system is full (ENOSPC)",
  EDQUOT: "the disk quota on the updates dir's file system is used up (EDQUOT)",
};

/** A failed write in words when it ran out of room; undefined for any other errno. */
export function spaceReason(error: unknown): string | undefined {
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  return errno === undefined ? undefined : SPACE[errno];
}
