/**
 * The switch for every test hook: without DOM0_RECEIVER_TEST_HOOKS=1 each hook's own variable is
 * ignored, so a stray variable in a user's environment changes nothing.
 */
export const TEST_HOOKS_ENV = 'DOM0_RECEIVER_TEST_HOOKS';
/** pause.ts: the point at which to wait to be killed */
export const TEST_PAUSE_ENV = 'DOM0_RECEIVER_TEST_PAUSE';
/** no-direct-writes.ts: write staged files through the page cache */
export const TEST_NO_DIRECT_WRITES_ENV = 'DOM0_RECEIVER_TEST_NO_DIRECT_WRITES';
/** lanes-first.ts: start the digest worker's lanes with the first member */
export const TEST_LANES_FIRST_ENV = 'DOM0_RECEIVER_TEST_LANES_FIRST';

/** The hook variables passed on to the stage child (none unless DOM0_RECEIVER_TEST_HOOKS=1). */
export function testHookEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  if (env[TEST_HOOKS_ENV] !== '1') return {};
  const passed: Record<string, string> = {};
  for (const name of [TEST_PAUSE_ENV, TEST_NO_DIRECT_WRITES_ENV, TEST_LANES_FIRST_ENV]) {
    const value = env[name];
    if (value !== undefined) passed[name] = value;
  }
  return Object.keys(passed).length === 0 ? {} : { [TEST_HOOKS_ENV]: '1', ...passed };
}
