import { TEST_HOOKS_ENV, TEST_NO_DIRECT_WRITES_ENV } from './hook-env.ts';

/**
 * Test hook: with DOM0_RECEIVER_TEST_HOOKS=1 and DOM0_RECEIVER_TEST_NO_DIRECT_WRITES=1 the stage
 * writes staged files through the page cache, as on a file system without O_DIRECT, so the tests
 * can run that path end to end.
 */
export function directWritesRefusedForTest(env: NodeJS.ProcessEnv): boolean {
  return env[TEST_HOOKS_ENV] === '1' && env[TEST_NO_DIRECT_WRITES_ENV] === '1';
}
