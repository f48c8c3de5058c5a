import { TEST_HOOKS_ENV, TEST_LANES_FIRST_ENV } from './hook-env.ts';

/**
 * Test hook: with DOM0_RECEIVER_TEST_HOOKS=1 and DOM0_RECEIVER_TEST_LANES_FIRST=1 the stage starts
 * its digest worker's lanes with the first member, however small, so the tests can run the lanes
 * end to end with small fixture packages (without it they start once a batch reaches 8 MiB).
 */
export function lanesFromFirstMemberForTest(env: NodeJS.ProcessEnv): boolean {
  return env[TEST_HOOKS_ENV] === '1' && env[TEST_LANES_FIRST_ENV] === '1';
}
