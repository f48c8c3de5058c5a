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
