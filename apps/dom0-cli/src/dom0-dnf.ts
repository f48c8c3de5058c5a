/**
 * dom0's own dnf, pointed at the cached repository alone. Only allow-listed options from the
 * command line reach it (see options.ts); nothing the UpdateVM said does.
 */
import { accessSync, constants, realpathSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import { execa } from 'execa';
import type { Config } from './config.ts';
import { DnfOutputText } from './dnf-output.ts';
import { InstallError, InstallUnansweredError } from './errors.ts';
import { NEVER_INTERRUPTED, interruptedError, type Interrupt, type InterruptSignal } from './interrupt.ts';
import type { Action } from './options.ts';
import type { OutputMode } from './reporter.ts';
import { readerGone } from './reader-gone.ts';

export interface Dom0DnfRequest {
  readonly reposDir: string;
  readonly assumeYes: boolean;
  readonly extraOptions: readonly string[];
  readonly mode: OutputMode;
  /** dom0's `dnf` is dnf5 (Fedora 41 and later): some options are spelled otherwise. */
  readonly dnf5?: boolean;
}

/** Whether the `dnf` on PATH is dnf5: from Fedora 41 on, /usr/bin/dnf is a link to dnf5. */
export function dnfIsDnf5(pathVar: string = process.env['PATH'] ?? ''): boolean {
  for (const dir of pathVar.split(delimiter)) {
    if (dir === '') continue;
    try {
      const target = realpathSync(join(dir, 'dnf'));
      accessSync(target, constants.X_OK);
      return /^dnf5\b/.test(basename(target));
    } catch {
      // not here; try the next PATH entry
    }
  }
  return false;
}

/**
 * dnf5's spellings of what dom0's dnf is given: --skip-broken is an option of install, reinstall
 * and downgrade only, while every command takes its setting (dnf5's upgrade does not read it);
 * dnf5 has no --verbose. (--noplugins and --nobest also work in dnf5 through its own
 * compatibility aliases.)
 */
const DNF5_SPELLING: ReadonlyMap<string, string | undefined> = new Map([
  ['--noplugins', '--no-plugins'],
  ['--nobest', '--no-best'],
  ['--skip-broken', '--setopt=skip_broken=True'],
  ['--verbose', undefined],
]);

function inDnf5Spelling(options: readonly string[], dnf5: boolean): string[] {
  if (!dnf5) return [...options];
  return options.flatMap((o) => {
    if (!DNF5_SPELLING.has(o)) return [o];
    const to = DNF5_SPELLING.get(o);
    return to === undefined ? [] : [to];
  });
}

export function dom0DnfBaseArgs(config: Config, request: Dom0DnfRequest): string[] {
  return inDnf5Spelling(dnf4BaseArgs(config, request), request.dnf5 === true);
}

function dnf4BaseArgs(config: Config, request: Dom0DnfRequest): string[] {
  return [
    ...(config.dom0Root === '/' ? [] : [`--installroot=${config.dom0Root}`]),
    ...(config.releasever === undefined ? [] : [`--releasever=${config.releasever}`]),
    '--noplugins',
    `--setopt=reposdir=${request.reposDir}`,
    // Command-line settings win over any dnf.conf that might turn the checks off.
    '--setopt=gpgcheck=1',
    '--setopt=localpkg_gpgcheck=1',
    // dom0 withholds builds through the cached repository's excludepkgs: a dnf.conf's
    // disable_excludes must not turn that off (nor dnf.conf's own exclusions, which dom0 counts on)
    '--setopt=disable_excludes=',
    // without -y, --allowerasing is only allowed because dnf asks first (options.ts): a dnf.conf with assumeyes=True must not skip that
    ...(request.assumeYes ? ['-y'] : request.extraOptions.includes('--allowerasing') ? ['--setopt=assumeyes=False'] : []),
    // quiet only where nobody answers a prompt: without -y the user reads the summary first
    ...(request.mode !== 'human' && request.assumeYes ? ['-q'] : []),
    ...request.extraOptions,
  ];
}

/** `dnf clean all` for the cached repository: a command's own options (--allowerasing...) mean nothing to it, and dnf5 refuses them. */
export function dom0DnfCleanArgs(config: Config, request: Dom0DnfRequest): string[] {
  return ['clean', 'all', ...dom0DnfBaseArgs(config, { ...request, extraOptions: [] })];
}

/**
 * The install step. What dom0 withholds (withheld.ts) is in the repository's definition
 * (cached-repo.ts), not on this command line. A plain upgrade also runs with obsoletes off, so no new name comes in by declaring Obsoletes.
 * An install runs with --best, as the UpdateVM's dnf resolved it (unless the user said --nobest):
 * without it, dnf takes an installed package as the install of its name and leaves the newer build
 * it was sent for untouched.
 */
export function dom0DnfInstallArgs(
  config: Config,
  request: Dom0DnfRequest,
  action: Action,
  packages: readonly string[],
): string[] {
  // Package specs are validated to start with a letter or digit, so none can pose as an option.
  // The command word first: dnf 4 takes options on either side of it, dnf5 a command's own
  // (--allowerasing, --skip-broken) only after it.
  return [
    action,
    ...dom0DnfBaseArgs(config, request),
    ...(action === 'upgrade' ? ['--setopt=obsoletes=False'] : []),
    ...(action === 'install' && !request.extraOptions.some((o) => o === '--best' || o === '--nobest') ? ['--best'] : []),
    ...packages,
  ];
}

interface Dom0DnfRun {
  readonly mode: OutputMode;
  /** What dnf does, for messages: "upgrade", "clean all". */
  readonly what: string;
  readonly assumeYes: boolean;
  /** HOME for dnf: its .rpmmacros names RPMDB_PATH (dnf-home.ts). */
  readonly home: string;
  readonly interrupt?: Interrupt | undefined;
  /** A signal came again while dnf runs: it is still not killed, and the caller says so. */
  readonly onSignalAgain?: ((signal: InterruptSignal) => void) | undefined;
}

export async function runDom0Dnf(args: readonly string[], run: Dom0DnfRun): Promise<void> {
  const { mode, what, assumeYes } = run;
  const interrupt = run.interrupt ?? NEVER_INTERRUPTED;
  interrupt.throwIfInterrupted();
  // In --json-progress mode stdout carries only our JSON lines, so dnf talks on stderr. In
  // --silent mode dnf's output is dropped, unless it has to ask (no -y). dnf never writes to the
  // terminal itself: its words pass through dnf-output.ts, which shows what the packages say
  // without letting it act on the terminal; and a reader of ours that goes away (`dom0-update |
  // less`, quit midway) must not kill dnf by SIGPIPE in the middle of its rpm transaction. Its
  // prompt still reaches the user, who answers on stdin, which dnf keeps.
  const subprocess = execa('dnf', args, {
    reject: false,
    stdin: 'inherit',
    // unbuffered: through a pipe, Python would hold dnf's lines back until its buffer fills
    env: { HOME: run.home, PYTHONUNBUFFERED: '1' },
    stdout: mode === 'silent' && assumeYes ? 'ignore' : 'pipe',
    stderr: 'pipe',
    buffer: false,
    // dnf is never SIGKILLed by dom0-update: a transaction cut off midway leaves dom0 half updated.
    forceKillAfterDelay: false,
  });
  // as it comes, so a prompt (no -y) is seen while dnf waits for the answer
  const relay = (from: NodeJS.ReadableStream | null, to: NodeJS.WriteStream, otherwise: NodeJS.WriteStream): void => {
    const text = new DnfOutputText();
    from?.on('data', (chunk: Buffer) => forward(text.push(chunk), to, otherwise));
    from?.on('end', () => forward(text.end(), to, otherwise));
  };
  if (mode === 'json') relay(subprocess.stdout, process.stderr, process.stderr);
  else relay(subprocess.stdout, process.stdout, process.stderr);
  relay(subprocess.stderr, process.stderr, process.stdout);
  // A signal to dom0-update goes to dnf, which handles it itself (it stops safely); dom0-update
  // waits for dnf to exit however long that takes. A Ctrl-C on a terminal already reached dnf (it
  // runs in our process group, in the foreground). Each signal is passed on once: the same one
  // again could cut into dnf's cleanup, but another one after a first that dnf never got (a
  // SIGTERM after a SIGINT sent to dom0-update alone while dnf waits at its prompt) must reach it.
  const passedOn = new Set<InterruptSignal>();
  const passOn = (signal: InterruptSignal): void => {
    if ((signal === 'SIGINT' && process.stdin.isTTY) || passedOn.has(signal)) return;
    passedOn.add(signal);
    subprocess.kill(signal);
  };
  const unsubscribe = interrupt.onSignal(passOn);
  const unsubscribeRepeat = interrupt.onRepeat((signal) => {
    passOn(signal);
    run.onSignalAgain?.(signal);
  });
  let result;
  try {
    result = await subprocess;
  } finally {
    unsubscribe();
    unsubscribeRepeat();
  }
  if (interrupt.signal !== undefined) {
    throw interruptedError(
      interrupt.signal,
      // neutral on purpose: a SIGINT sent to dom0-update alone while stdin is a terminal never reached dnf
      `dom0's dnf ${what} exited with ${String(result.exitCode ?? result.signal)} after the signal; its output above says what it did`,
    );
  }
  if (result.failed) {
    // dnf's own words are on the terminal already; its command line would only bury them
    if (result.exitCode === undefined && result.signal === undefined) {
      throw new InstallError('INSTALL_FAILED', `dom0's dnf ${what} could not start: ${(result.shortMessage ?? '').split('\n')[0] ?? ''}`);
    }
    const how = result.exitCode === undefined ? `was killed by ${String(result.signal)}` : `exited with code ${result.exitCode}`;
    // without a terminal on stdin dnf cannot ask, and takes the missing answer as a no
    // (a dnf killed by a signal was not answered at all)
    if (!assumeYes && result.exitCode !== undefined && !process.stdin.isTTY) {
      throw new InstallUnansweredError('INSTALL_FAILED', `dom0's dnf ${what} ${how}; its output above says why (with no terminal to ask on, dnf takes no answer as a no: add -y to answer yes)`);
    }
    const prompt = assumeYes || result.exitCode === undefined ? '' : ' (answering no at its prompt ends this way too)';
    throw new InstallError('INSTALL_FAILED', `dom0's dnf ${what} ${how}; its output above says why${prompt}`);
  }
}

/** dnf's text to our stream, or to the other one once a reader left it; dropped when both are gone. */
function forward(text: string, to: NodeJS.WriteStream, otherwise: NodeJS.WriteStream): void {
  const target = readerGone(to) ? otherwise : to;
  if (text !== '' && !readerGone(target)) target.write(text);
}
