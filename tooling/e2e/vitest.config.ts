import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // a private TMPDIR for the run, removed afterwards
    globalSetup: ['../../tooling/scripts/test-tmpdir.mjs'],
  },
});
