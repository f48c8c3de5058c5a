import { availableParallelism } from 'node:os';
import { execa } from 'execa';
import { PublishError } from '../errors.ts';

/**
 * Regenerates the repository metadata of a generation. Runs in the parent, after every package
 * in the generation was verified, so createrepo_c's rpm parser only sees signed bytes.
 */
export async function runCreaterepo(dir: string): Promise<void> {
  const result = await execa(
    'createrepo_c',
    ['--quiet', '--no-database', '--workers', String(Math.max(1, availableParallelism())), dir],
    { reject: false, stdin: 'ignore', all: true, env: { LC_ALL: 'C' }, extendEnv: true },
  );
  if (result.exitCode !== 0 || result.failed) {
    const output = typeof result.all === 'string' ? result.all.slice(0, 2000) : '';
    throw new PublishError('CREATEREPO_FAILED', `createrepo_c failed (exit ${String(result.exitCode)}): ${output}`);
  }
}
