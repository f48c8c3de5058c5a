import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // a private TMPDIR for the run, removed afterwards
    globalSetup: ['../../tooling/scripts/test-tmpdir.mjs'],
    // Tests without a timeout of their own still start real processes (node in a network
    // namespace, the service script, run.sh): vitest's 5 s default is no margin when CI runs every
    // package's tests at once on two cores ("keeps the mirror out of dom0 reach" starts node twice
    // and took 2.5 s there, 4.7 s with more load). The timeout only catches a hang.
    testTimeout: 60_000,
  },
});
