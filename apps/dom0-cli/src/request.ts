/**
 * request.json: what the user asked for, as structured data for the agent. This is the only way
 * user input reaches the UpdateVM; no shell string ever carries it. Validated here with the
 * protocol's own schema, so a request the agent would refuse is a usage error in dom0.
 */
import { PROTOCOL_VERSION, RequestError, validateRequest, type UpdateRequest } from '@dom0-updates/protocol';
import { UsageError } from './errors.ts';
import type { RunOptions } from './options.ts';

/**
 * `releasever`: the effective RELEASEVER (file, environment or --releasever), which the UpdateVM's
 * dnf needs as much as dom0's: an installroot made of dom0's rpmdb may hold no release package.
 */
export function buildRequest(options: RunOptions, releasever?: string): UpdateRequest {
  const dnfOptions = [
    ...(releasever === undefined ? [] : [`--releasever=${releasever}`]),
    ...options.dnfOptions,
  ];
  try {
    return validateRequest({
      protocol: PROTOCOL_VERSION,
      action: options.checkOnly ? 'check-only' : options.action,
      packages: [...options.packages],
      enableRepos: [...options.enableRepos],
      disableRepos: [...options.disableRepos],
      clean: options.clean,
      dnfOptions,
    });
  } catch (error) {
    if (error instanceof RequestError) {
      throw new UsageError('USAGE_BAD_REQUEST', `the request is not valid: ${error.issues.join('; ')}`);
    }
    throw error;
  }
}
