/**
 * How dom0 reaches the agent in the UpdateVM. Nothing on either command line comes from the user
 * or from the UpdateVM: user input travels only inside request.json, and the receiver is dom0's own.
 * - qrexec: `qvm-run --pass-io --no-gui --quiet --user=root --service <vm> dom0-updates.Download+v1`, a
 *   qrexec service the UpdateVM's template ships (deploy/updatevm/); no shell string is built.
 * - local: the agent as a child process, `run --transport fd`: it writes the update stream to its
 *   fd 3 and reads dom0's reply on its fd 4, while dom0-update itself starts the receiver
 *   (receiver-link.ts). The agent never learns how dom0's receiver is started or with which keys.
 */
import { statSync } from 'node:fs';
import { basename, isAbsolute } from 'node:path';
import type { Config } from './config.ts';
import { ConfigError } from './errors.ts';

/** The UpdateVM's qrexec service that runs the agent; `+v1` is the state-sync stream's version. */
export const AGENT_SERVICE = 'dom0-updates.Download+v1';

export interface AgentRun {
  readonly file: string;
  readonly args: readonly string[];
}

/** The receiver as dom0 starts it: its updates dir, every pinned key and the limits. */
export function receiverArgv(config: Config): string[] {
  return [
    ...config.receiverCommand,
    'receive',
    '--updates-dir',
    config.updatesDir,
    ...config.keyring.flatMap((k) => ['--keyring', k]),
    '--max-files',
    String(config.maxFiles),
    // Without MAX_BYTES the receiver's own default applies (4 GiB or 90% of the free space beyond a reserve).
    ...(config.maxBytes === undefined ? [] : ['--max-bytes', String(config.maxBytes)]),
    '--timeout',
    String(config.timeoutSeconds),
  ];
}

export function agentRun(config: Config, updateVm: string): AgentRun {
  if (config.transport === 'local') {
    const workdir = config.agentWorkdir === undefined ? [] : ['--workdir', config.agentWorkdir];
    const [file = '', ...rest] = config.agentCommand;
    return { file, args: [...rest, 'run', '--transport', 'fd', ...workdir] };
  }
  // The VM name is a validated qube name (it cannot pose as an option); the service is a constant.
  // --quiet: qvm-run's own lines ("Running '...' on VM", "command failed with code") would
  // otherwise read as the UpdateVM's output, and be quoted as its last line
  return { file: 'qvm-run', args: ['--pass-io', '--no-gui', '--quiet', '--user=root', '--service', updateVm, AGENT_SERVICE] };
}

/**
 * The agent gets TIMEOUT plus this grace: the receiver enforces TIMEOUT itself, so a stalled sender
 * ends with dom0's own verdict (TAR_TIMEOUT) rather than with the agent being killed first.
 */
export function agentDeadlineSeconds(timeoutSeconds: number): number {
  return timeoutSeconds + Math.min(60, Math.max(5, Math.ceil(timeoutSeconds / 10)));
}

/**
 * A command dom0-update will run that runs a Node script (`["node", "/path/x.mjs"]`, as the
 * defaults do) must name a script that is there: otherwise Node's "Cannot find module" stack
 * trace comes out only as the agent's output, or after the whole download for the receiver. The
 * agent runs here with the local transport alone; the receiver (`receiverRuns`) for a local
 * install, and with either transport for `--clean`.
 */
export function checkCommandScripts(config: Config, receiverRuns: boolean): void {
  const commands: [string, readonly string[]][] = [];
  if (config.transport === 'local') commands.push(['AGENT_COMMAND', config.agentCommand]);
  if (receiverRuns) commands.push(['RECEIVER_COMMAND', config.receiverCommand]);
  for (const [key, [program = '', script]] of commands) {
    if (!/^node(?:js)?(?:\d+)?$/.test(basename(program)) || script === undefined || !isAbsolute(script)) continue;
    let isFile = false;
    try {
      isFile = statSync(script).isFile();
    } catch {
      // missing or unreadable: said below
    }
    if (!isFile) {
      const section = config.transport === 'qrexec' ? '"Steps on Qubes", step 2' : '"Without Qubes"';
      throw new ConfigError('CONFIG_BAD_COMMAND', `${key} runs ${script}, which is not there: install the bundle there, or set ${key} to where it is (deploy/README.md, ${section})`);
    }
  }
}
