import { diagnose } from './diagnostics.ts';

/**
 * Writes output that is the command's result (verdicts, help, version). Resolves false when the
 * write failed for another reason than a reader that went away (a full disk): the caller then
 * fails, since its output is lost. The failure is reported on stderr.
 */
export function writeResultOutput(text: string): Promise<boolean> {
  return new Promise((resolve) => {
    process.stdout.write(text, (error) => {
      if (error === null || error === undefined || (error as NodeJS.ErrnoException).code === 'EPIPE') {
        resolve(true);
        return;
      }
      diagnose(`cannot write to standard output: ${error.message}`);
      resolve(false);
    });
  });
}
