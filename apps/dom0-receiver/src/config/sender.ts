import { checkServiceArgument, VersionError } from '@dom0-updates/protocol';
import { ConfigError, RefusedError, UsageError } from '../errors.ts';
import { parseVmName } from '../cli/args.ts';

/**
 * The UpdateVM dom0's service configuration names. A bad name is dom0's own misconfiguration
 * (CONFIG_INVALID, its reason kept in dom0), not a usage error of whoever called the service.
 */
function updateVmFromEnv(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  try {
    return parseVmName(value, 'DOM0_UPDATES_UPDATEVM');
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new ConfigError('CONFIG_INVALID', error.message);
  }
}

/**
 * Under qrexec (QREXEC_REMOTE_DOMAIN set) only the configured UpdateVM may call the service, with
 * the one protocol version argument we speak. Checked before a byte of the stream is read; a
 * policy that lets any VM through (Qubes issue 280) is not enough on its own.
 */
export function checkSender(env: NodeJS.ProcessEnv, flagUpdateVm: string | undefined): void {
  const remote = env['QREXEC_REMOTE_DOMAIN'];
  if (remote === undefined) return;
  const configured = flagUpdateVm ?? updateVmFromEnv(env['DOM0_UPDATES_UPDATEVM']);
  if (configured === undefined) {
    throw new RefusedError(
      'UPDATEVM_NOT_CONFIGURED',
      'called over qrexec but no UpdateVM is configured (--updatevm or DOM0_UPDATES_UPDATEVM); refusing to read',
    );
  }
  if (remote !== configured) {
    throw new RefusedError('SENDER_NOT_ALLOWED', `the caller "${remote}" is not the configured UpdateVM; refusing to read`);
  }
  try {
    checkServiceArgument(env['QREXEC_SERVICE_ARGUMENT']);
  } catch (error) {
    // the protocol's own code for it (SPEC §1): a peer built from the spec expects it
    if (error instanceof VersionError) throw new RefusedError('VERSION_UNSUPPORTED', error.message);
    throw error;
  }
}
