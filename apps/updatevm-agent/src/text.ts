import { sanitizeForTerminal } from '@dom0-updates/protocol';

/** Text from dnf, a mirror or dom0 made safe to print (the protocol's one sanitiser), bounded. */
export function sanitize(text: string, maxLength = 2000): string {
  return sanitizeForTerminal(text, maxLength);
}

/** An error's own line in a stack trace or a tool's output: what a cut must not lose. */
const ERROR_LINE = /^(?:[A-Za-z]*Error\b|\S+: error: )/;

/**
 * Sanitises each line of multi-line output (dnf's stderr), keeping the last `maxLines` lines; when
 * that cuts the first error line off (the `Error: Cannot find module …` above a stack trace), that
 * line is kept first, in place of the oldest of the rest.
 */
export function sanitizeLines(text: string, maxLines = 40): string {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  let kept = lines.slice(-maxLines);
  const firstError = lines.findIndex((l) => ERROR_LINE.test(l));
  if (firstError >= 0 && firstError < lines.length - maxLines && maxLines > 1) kept = [lines[firstError] ?? '', ...lines.slice(-(maxLines - 1))];
  return kept.map((l) => `  ${sanitizeForTerminal(l, 500)}`).join('\n');
}
