import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // a private TMPDIR for the run, removed afterwards
    globalSetup: ['../../tooling/scripts/test-tmpdir.mjs'],
    // each test spawns the real receiver (and createrepo_c); two cores, so keep files few and parallel-safe
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
