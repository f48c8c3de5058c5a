/** The dom0-update command: everything happens in run.ts; this only wires the process. */
import { markReaderGone } from './reader-gone.ts';
import { main } from './run.ts';

// A reader that went away (`dom0-update | head`) must not kill the run with a stack trace while
// it holds the lock or waits for dnf: output is best effort, the exit code is the outcome.
// Output lost for another reason (a full disk) makes a run that would have succeeded fail.
let lost: Error | undefined;
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') markReaderGone(stream);
    else if (stream === process.stdout) lost ??= error;
  });
}
const code = await main(process.argv.slice(2), process.env);
// a failed write to a file or device reports its error on a later tick
await new Promise((resolve) => setImmediate(resolve));
if (lost !== undefined) process.stderr.write(`dom0-update: cannot write to standard output: ${lost.message} [OUTPUT_FAILED]\n`);
process.exitCode = lost !== undefined && code === 0 ? 1 : code;
