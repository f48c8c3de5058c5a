import { sanitizeForTerminal } from '@dom0-updates/protocol';

/** Text from dnf, a mirror or dom0 made safe to print (the protocol's one sanitiser), bounded. */
export function sanitize(text: string, maxLength = 2000): string {
  return sanitizeForTerminal(text, maxLength);
}

/** Sanitises each line of multi-line output (dnf's stderr), keeping the last `maxLines` lines. */
export function sanitizeLines(text: string, maxLines = 40): string {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  return lines
    .slice(-maxLines)
    .map((l) => `  ${sanitizeForTerminal(l, 500)}`)
    .join('\n');
}
