import { join } from 'node:path';

// Bundles, as a user would run them: the e2e suite and the demo never import app source.
export const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');
export const CLI_BUNDLE = join(REPO_ROOT, 'apps/dom0-cli/dist/dom0-update.mjs');
export const AGENT_BUNDLE = join(REPO_ROOT, 'apps/updatevm-agent/dist/updatevm-agent.mjs');
export const RECEIVER_BUNDLE = join(REPO_ROOT, 'apps/dom0-receiver/dist/dom0-receiver.mjs');
export const FIXTURES_CLI_BUNDLE = join(REPO_ROOT, 'tooling/fixtures/dist/fixtures-cli.mjs');
export const HOSTILE_AGENT_BUNDLE = join(REPO_ROOT, 'tooling/e2e/dist/hostile-agent.mjs');
