import { VersionError } from './errors.ts';
import { SERVICE_ARGUMENT } from './version.ts';

/**
 * Checks the qrexec service argument (`QREXEC_SERVICE_ARGUMENT`, the part after `+`) before the
 * receiver reads any byte: only `v1` is spoken; a missing or other argument is refused.
 */
export function checkServiceArgument(argument: string | undefined): typeof SERVICE_ARGUMENT {
  if (argument === SERVICE_ARGUMENT) return SERVICE_ARGUMENT;
  throw new VersionError(
    argument === undefined || argument === ''
      ? `the service was called without a version argument; expected +${SERVICE_ARGUMENT}`
      : `unsupported protocol version argument "${argument}"; this receiver speaks +${SERVICE_ARGUMENT}`,
  );
}
