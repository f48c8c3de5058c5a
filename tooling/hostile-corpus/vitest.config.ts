import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // a private TMPDIR for the run, removed afterwards
    globalSetup: ['../../tooling/scripts/test-tmpdir.mjs'],
    // every case spawns the real receiver; two cores, so at most two files at once
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
    // cases inside a file share two updates dirs (see openCorpus)
    maxConcurrency: 2,
  },
});
