/**
 * Which qube downloads dom0's updates: UPDATEVM from the configuration, else (on Qubes) the
 * `updatevm` global property. The local transport has no qube; it is labelled "local".
 */
import { execa } from 'execa';
import { parseVmName, type Config } from './config.ts';
import { ConfigError, StateError } from './errors.ts';

export async function findUpdateVm(config: Config): Promise<string> {
  if (config.updateVm !== undefined) return config.updateVm;
  if (config.transport === 'local') return 'local';
  const result = await execa('qubes-prefs', ['updatevm'], { reject: false, stdin: 'ignore' });
  if (result.failed) {
    const why =
      result.code === 'ENOENT'
        ? 'qubes-prefs is not installed: not a Qubes dom0?'
        : (result.stderr.trim().split('\n')[0] ?? '') || ((result.shortMessage ?? '').split('\n')[0] ?? '') || 'failed';
    // off Qubes, UPDATEVM alone would only lead to TRANSPORT_SPAWN (no qvm-run): name the way that works
    const advice = result.code === 'ENOENT' ? '; outside Qubes, set TRANSPORT=local and AGENT_COMMAND instead' : '';
    throw new StateError('UPDATEVM_UNKNOWN', `no UPDATEVM configured and "qubes-prefs updatevm" failed (${why}); set UPDATEVM in the config${advice}`);
  }
  const name = result.stdout.trim();
  if (name === '') {
    throw new ConfigError('UPDATEVM_UNSET', 'no UpdateVM is set: run "qubes-prefs updatevm <qube>" or set UPDATEVM');
  }
  return parseVmName(name, 'qubes-prefs updatevm');
}
