/**
 * Phase timings for the benchmark: with DOM0_RECEIVER_PROFILE=1 the receiver and its stage print
 * one `dom0-receiver: profile <who> <phase>=<ms> ...` line each on stderr. Off by default; the
 * timings never change what the receiver does.
 */
export const PROFILE_ENV = 'DOM0_RECEIVER_PROFILE';

export function profileEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return env[PROFILE_ENV] === '1' ? { [PROFILE_ENV]: '1' } : {};
}

export class PhaseProfile {
  readonly #who: string;
  readonly #totals = new Map<string, number>();
  readonly #counts = new Map<string, number>();
  readonly #started = performance.now();

  private constructor(who: string) {
    this.#who = who;
  }

  /** A profile when the env asks for one; otherwise undefined, and callers skip the timing. */
  static fromEnv(who: string, env: NodeJS.ProcessEnv = process.env): PhaseProfile | undefined {
    return env[PROFILE_ENV] === '1' ? new PhaseProfile(who) : undefined;
  }

  add(phase: string, ms: number): void {
    this.#totals.set(phase, (this.#totals.get(phase) ?? 0) + ms);
  }

  /** A count worth seeing next to the timings (e.g. packages createrepo_c had to read). */
  count(what: string, n: number): void {
    this.#counts.set(what, (this.#counts.get(what) ?? 0) + n);
  }

  async time<T>(phase: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.add(phase, performance.now() - started);
    }
  }

  report(): void {
    const parts = [...this.#totals].map(([phase, ms]) => `${phase}=${ms.toFixed(0)}`);
    parts.push(`total=${(performance.now() - this.#started).toFixed(0)}`);
    for (const [what, n] of this.#counts) parts.push(`${what}#${n}`);
    process.stderr.write(`dom0-receiver: profile ${this.#who} ${parts.join(' ')}\n`);
  }
}

/** Times `work` into `profile` when there is one; runs it plainly otherwise. */
export function timed<T>(profile: PhaseProfile | undefined, phase: string, work: () => Promise<T>): Promise<T> {
  return profile === undefined ? work() : profile.time(phase, work);
}
