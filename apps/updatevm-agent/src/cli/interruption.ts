import { rmSync } from 'node:fs';
import { InterruptedError } from '../errors.ts';
import { ExitCode } from '../exit-code.ts';

/** How long the run may take to unwind (stop dnf, remove its directory) after it was told to stop. */
const UNWIND_GRACE_MS = 3000;
/** How often the parent process is checked. */
const PARENT_POLL_MS = 1000;

const SIGNAL_EXIT = { SIGHUP: ExitCode.hangup, SIGINT: ExitCode.interrupted, SIGTERM: ExitCode.terminated } as const;
type HandledSignal = keyof typeof SIGNAL_EXIT;

/**
 * Stops a run early and cleanly. A SIGINT, SIGTERM or SIGHUP, or a new parent process (dom0-update,
 * or whatever started the agent, was killed and can no longer stop it: without this the agent and
 * its dnf would go on beside the next run), aborts `signal` with an InterruptedError. The run then
 * unwinds as after any failure: dnf is cancelled, `finally` blocks remove the run's directory, the
 * error is reported. If that takes longer than a short grace, or a second signal comes, the
 * children registered with `killOnForcedExit` are killed, the directories registered with
 * `removeOnForcedExit` removed, and the process exits at once.
 */
export class Interruption {
  readonly #controller = new AbortController();
  readonly #dirs = new Set<string>();
  readonly #children = new Set<number>();
  readonly #parent = process.ppid;
  readonly #handlers = new Map<HandledSignal, () => void>();
  readonly #poll: NodeJS.Timeout;
  #grace: NodeJS.Timeout | undefined;
  #exitCode: ExitCode = ExitCode.failure;
  #reason: InterruptedError | undefined;

  constructor() {
    for (const name of Object.keys(SIGNAL_EXIT) as HandledSignal[]) {
      const handler = (): void => {
        this.#stop(new InterruptedError('INTERRUPTED', `stopped by ${name}`, SIGNAL_EXIT[name]));
      };
      this.#handlers.set(name, handler);
      process.on(name, handler);
    }
    this.#poll = setInterval(() => {
      if (process.ppid !== this.#parent) {
        this.#stop(new InterruptedError('DOM0_GONE', 'the process that started this run has ended (dom0-update was killed?): stopping'));
      }
    }, PARENT_POLL_MS);
    this.#poll.unref();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Throws the InterruptedError once the run was told to stop. */
  throwIfStopped(): void {
    if (this.#controller.signal.aborted) throw this.#controller.signal.reason as InterruptedError;
  }

  /** A directory that must not outlive a forced exit; call the returned function once it is gone. */
  removeOnForcedExit(dir: string): () => void {
    this.#dirs.add(dir);
    return () => this.#dirs.delete(dir);
  }

  /** A child process (dnf) that must not outlive a forced exit; call the returned function once it has ended. */
  killOnForcedExit(pid: number): () => void {
    this.#children.add(pid);
    return () => this.#children.delete(pid);
  }

  dispose(): void {
    clearInterval(this.#poll);
    clearTimeout(this.#grace);
    for (const [name, handler] of this.#handlers) process.off(name, handler);
  }

  #stop(error: InterruptedError): void {
    if (this.#controller.signal.aborted) {
      this.#forceExit();
      return;
    }
    // the parent check has done its work: left running, its next tick would count as a second signal
    clearInterval(this.#poll);
    this.#exitCode = error.exitCode;
    this.#reason = error;
    this.#controller.abort(error);
    // unref: a run that unwinds in time exits by itself, before this fires
    this.#grace = setTimeout(() => this.#forceExit(), UNWIND_GRACE_MS);
    this.#grace.unref();
  }

  #forceExit(): void {
    // dnf has had SIGTERM; its SIGKILL timer would die with this process
    for (const pid of this.#children) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of this.#dirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort: the next run's --clean removes what is left under runs/
      }
    }
    const reason = this.#reason ?? new InterruptedError('INTERRUPTED', 'stopped');
    process.stderr.write(`updatevm-agent: error: ${reason.message}; stopped before the run could unwind, what it had begun removed [${reason.code}]\n`);
    process.exit(this.#exitCode);
  }
}
