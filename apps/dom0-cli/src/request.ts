/**
 * request.json: what the user asked for, as structured data for the agent. This is the only way
 * user input reaches the UpdateVM; no shell string ever carries it. Validated here with the
 * protocol's own schema, so a request the agent would refuse is a usage error in dom0.
 */
import { PROTOCOL_VERSION, RequestError, validateRequest, type UpdateRequest } from '@dom0-updates/protocol';
import { UsageError } from './errors.ts';
import type { RunOptions } from './options.ts';

export function buildRequest(options: RunOptions): UpdateRequest {
  try {
    return validateRequest({
      protocol: PROTOCOL_VERSION,
      action: options.checkOnly ? 'check-only' : options.action,
      packages: [...options.packages],
      enableRepos: [...options.enableRepos],
      disableRepos: [...options.disableRepos],
      clean: options.clean,
      dnfOptions: [...options.dnfOptions],
    });
  } catch (error) {
    if (error instanceof RequestError) {
      throw new UsageError('USAGE_BAD_REQUEST', `the request is not valid: ${error.issues.join('; ')}`);
    }
    throw error;
  }
}
