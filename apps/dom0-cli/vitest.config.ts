import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // End-to-end tests run real bundles; build them first so they never lag the source.
    globalSetup: ['../../tooling/scripts/test-tmpdir.mjs', './test/support/build-bundles.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // vitest takes one worker on two cores (cores - 1); the end-to-end files mostly wait on dnf,
    // rpm and the bundles' processes, so two files at a time keep both cores busy
    pool: 'forks',
    maxWorkers: 2,
  },
});
