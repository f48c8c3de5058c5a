import { sanitizeForTerminal } from '@dom0-updates/protocol';

/** Every diagnostic goes through the sanitiser: member names and reasons come from the sender. */
export function diagnose(text: string): void {
  process.stderr.write(`dom0-receiver: ${sanitizeForTerminal(text, 8192)}\n`);
}
