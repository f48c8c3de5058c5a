/**
 * Without bubblewrap, a receiver running as root still gives the stage a network and an IPC
 * namespace of its own (util-linux `unshare`), then drops to the stage uid with `setpriv`: the
 * stage reaches no network, no abstract Unix socket and no System V IPC object of the host. Only
 * where both tools exist and a probe of the very command works; otherwise the stage runs as before.
 */
import { spawn } from 'node:child_process';
import type { StageOwner } from '../updates-dir/staging.ts';
import { findExecutable } from './executable-path.ts';

export interface StageNamespaces {
  readonly unshare: string;
  readonly setpriv: string;
}

/** The command that runs `argv` as `owner` in fresh network and IPC namespaces. */
export function inNamespaces(tools: StageNamespaces, owner: StageOwner, argv: readonly string[]): { file: string; args: string[] } {
  return {
    file: tools.unshare,
    args: ['--net', '--ipc', '--', tools.setpriv, `--reuid=${owner.uid}`, `--regid=${owner.gid}`, '--clear-groups', '--no-new-privs', '--', ...argv],
  };
}

/** Whether the command runs here: a container may refuse new namespaces even to root. */
function probe(tools: StageNamespaces, owner: StageOwner): Promise<boolean> {
  const { file, args } = inNamespaces(tools, owner, [tools.setpriv, '--version']);
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: 'ignore', env: {} });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}

/**
 * The tools to wrap the stage in, or the reason there are none. Only a receiver that drops to a
 * stage uid (it runs as root) can create the namespaces and then leave root behind.
 */
export async function stageNamespaces(owner: StageOwner | undefined, env: NodeJS.ProcessEnv): Promise<StageNamespaces | string> {
  if (owner === undefined) return 'not running as root';
  const unshare = await findExecutable('unshare', env);
  const setpriv = await findExecutable('setpriv', env);
  if (unshare === undefined || setpriv === undefined) return 'unshare or setpriv (util-linux) is not in PATH';
  const tools = { unshare, setpriv };
  return (await probe(tools, owner)) ? tools : 'the kernel refused new network and IPC namespaces';
}
