import { TEST_HOOKS_ENV, TEST_PAUSE_ENV } from './hook-env.ts';

/**
 * Crash-test hook: with DOM0_RECEIVER_TEST_HOOKS=1 and DOM0_RECEIVER_TEST_PAUSE=<point>, the
 * receiver announces `dom0-receiver: test pause at <point>` on stderr when it reaches that point
 * and then waits to be killed. Without DOM0_RECEIVER_TEST_HOOKS=1 the variables are ignored.
 */
export const PAUSE_POINTS = [
  'lock-file-filled',
  'stage-after-member',
  'after-stage',
  'after-generation',
  'after-createrepo',
  'before-swap',
  'after-swap',
  'after-result',
] as const;
export type PausePoint = (typeof PAUSE_POINTS)[number];

export async function pauseIfRequested(point: PausePoint, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (env[TEST_HOOKS_ENV] !== '1' || env[TEST_PAUSE_ENV] !== point) return;
  process.stderr.write(`dom0-receiver: test pause at ${point}\n`);
  await new Promise<never>(() => {
    // keep the event loop alive until the test kills us
    setInterval(() => undefined, 60_000);
  });
}
