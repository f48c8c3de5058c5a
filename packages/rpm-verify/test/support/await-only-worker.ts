// A program whose only pending work is a digest worker's answer: bundled and run as its own
// process by digest-worker.test.ts, to show the worker keeps the process alive while it is awaited.
import { createHash } from 'node:crypto';
import { DigestWorker } from '../../src/digest/digest-worker.ts';

const worker = DigestWorker.start(2);
const job = worker.begin('sha256', 1);
worker.update([job], Buffer.from('alive'));
const digest = await worker.digest(job);
process.stdout.write(`digest ${digest.equals(createHash('sha256').update('alive').digest()) ? 'right' : 'wrong'}\n`);
await worker.stop();
process.stdout.write('stopped\n');
