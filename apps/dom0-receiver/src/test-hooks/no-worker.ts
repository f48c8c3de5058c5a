import { TEST_HOOKS_ENV } from './hook-env.ts';

/**
 * Test hook: with DOM0_RECEIVER_TEST_HOOKS=1 and DOM0_RECEIVER_TEST_NO_WORKER=1 the stage starts
 * without `--allow-worker`, as on a runtime that refuses worker threads, so the tests can run the
 * stage's fallback (every digest on its own thread, files written by the thread pool) end to end.
 * Without DOM0_RECEIVER_TEST_HOOKS=1 the variable is ignored.
 */
export const TEST_NO_WORKER_ENV = 'DOM0_RECEIVER_TEST_NO_WORKER';

export function workerRefusedForTest(env: NodeJS.ProcessEnv): boolean {
  return env[TEST_HOOKS_ENV] === '1' && env[TEST_NO_WORKER_ENV] === '1';
}
