import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // a private TMPDIR for the run, removed afterwards
    globalSetup: ['../../tooling/scripts/test-tmpdir.mjs'],
    // No test here is timed (speed is measured by benchmarks); the timeout only catches a hang.
    // Exhaustive loops take a few seconds alone and several times that when CI runs every
    // package's tests at once on two cores, so vitest's 5 s default failed one under load.
    testTimeout: 60_000,
    // vitest takes one worker on two cores (cores - 1); many files here wait on rpm, rpmbuild and
    // gpg, so two at a time keep both cores busy (the CPU-bound loops have the timeout above)
    pool: 'forks',
    maxWorkers: 2,
  },
});
