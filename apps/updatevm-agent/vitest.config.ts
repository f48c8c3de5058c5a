import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // End-to-end tests run the real bundle; build it first so it never lags the source.
    globalSetup: ['../../tooling/scripts/test-tmpdir.mjs', './test/support/build-bundle.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // vitest takes one worker on two cores (cores - 1); its files mostly wait on child processes
    // (dnf, rpm, gpg, the bundle), so two at a time keep both cores busy
    pool: 'forks',
    maxWorkers: 2,
  },
});
