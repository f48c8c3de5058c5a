/**
 * How a run that is told to stop reaches the processes it started (dnf, rpm, the transport): the
 * abort stops each one (SIGTERM, then SIGKILL before the agent's own unwinding grace ends), and
 * each is tracked until it has really ended, to be killed if the agent must exit first.
 */
export interface ChildStop {
  readonly signal: AbortSignal;
  killOnForcedExit(pid: number): () => void;
}

/** execa's options for a child that a stopped run stops. */
export function stopOptions(stop: ChildStop | undefined): { cancelSignal?: AbortSignal; forceKillAfterDelay?: number } {
  return stop === undefined ? {} : { cancelSignal: stop.signal, forceKillAfterDelay: 2000 };
}

/** Registers a started child for a forced exit until it has ended (after an abort it may still be dying). */
export function trackChild(child: { readonly pid?: number | undefined; once(event: 'exit', listener: () => void): unknown }, stop: ChildStop | undefined): void {
  const forget = child.pid === undefined ? undefined : stop?.killOnForcedExit(child.pid);
  if (forget !== undefined) child.once('exit', forget);
}

/** Signals that also stop the agent (sent to its process group, such as a terminal's Ctrl-C). */
const GROUP_STOP_SIGNALS: ReadonlySet<string> = new Set(['SIGINT', 'SIGTERM', 'SIGHUP']);

/**
 * Whether a child that has ended was stopped with the run: a signal to the whole process group
 * may end the child before the agent's own handler has aborted the run, so such a signal gets a
 * moment for the abort to arrive (as does an exit that a child gives for such a signal, `exitOnStop`:
 * dnf5 from 5.2.14 catches SIGINT and SIGTERM and exits 1).
 */
export async function stoppedWithRun(
  result: { readonly signal?: string | undefined; readonly exitCode?: number | undefined },
  stop: ChildStop | undefined,
  exitOnStop?: number,
): Promise<boolean> {
  if (stop === undefined) return false;
  const mayBeStop = (result.signal !== undefined && GROUP_STOP_SIGNALS.has(result.signal)) || (exitOnStop !== undefined && result.exitCode === exitOnStop);
  if (mayBeStop && !stop.signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return stop.signal.aborted;
}
