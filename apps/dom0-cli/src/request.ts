/**
 * request.json: what the user asked for, as structured data for the agent. This is the only way
 * user input reaches the UpdateVM; no shell string ever carries it.
 */
import { PROTOCOL_VERSION } from '@dom0-updates/protocol';
import type { RunOptions } from './options.ts';

export interface StateRequest {
  readonly protocol: typeof PROTOCOL_VERSION;
  readonly action: 'upgrade' | 'install' | 'reinstall' | 'downgrade' | 'check-only';
  readonly packages: readonly string[];
  readonly enableRepos: readonly string[];
  readonly disableRepos: readonly string[];
  readonly clean: boolean;
  readonly dnfOptions: readonly string[];
}

export function buildRequest(options: RunOptions): StateRequest {
  return {
    protocol: PROTOCOL_VERSION,
    action: options.checkOnly ? 'check-only' : options.action,
    packages: [...options.packages],
    enableRepos: [...options.enableRepos],
    disableRepos: [...options.disableRepos],
    clean: options.clean,
    dnfOptions: [...options.dnfOptions],
  };
}
