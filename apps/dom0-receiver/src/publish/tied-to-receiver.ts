import { findExecutable } from '../config/executable-path.ts';

export interface CommandLine {
  readonly file: string;
  readonly args: readonly string[];
}

/**
 * The command line that runs `file` so that the kernel kills it when the receiver dies: util-linux
 * setpriv sets PR_SET_PDEATHSIG (kept across exec) and execs it. A receiver killed with SIGKILL
 * runs no handler, and a createrepo_c left running would go on writing into a generation the
 * next receive's recovery is removing. Without setpriv the command runs as it is. The signal
 * follows the thread that spawned it, which is the receiver's main thread (libuv spawns there).
 */
export async function tiedToReceiver(file: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<CommandLine> {
  const wrapper = await findExecutable('setpriv', env);
  if (wrapper === undefined) return { file, args };
  return { file: wrapper, args: ['--pdeathsig', 'KILL', '--', file, ...args] };
}
