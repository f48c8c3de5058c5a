import { execa } from 'execa';
import { stopOptions, stoppedWithRun, trackChild, type ChildStop } from '../cli/child-stop.ts';
import { formatBytes } from '../progress/reporter.ts';
import { AgentError, DiskFullError, DnfError, InterruptedError } from '../errors.ts';
import type { WorkdirLayout } from '../installroot/paths.ts';
import { sanitize, sanitizeLines } from '../text.ts';
import type { DnfTool } from './detect.ts';
import type { DnfLimits } from './limits.ts';
import { abortedOutOfMemory, classifyFailure, CONNECTION_CURL_ERRORS, parseDnf5StderrLine, parseDnfLine, type DnfLineEvent } from './output.ts';
import { watchMetadataGrowth } from './watch.ts';

export interface DnfRun {
  readonly exitCode: number;
  readonly stderr: string;
  /** dnf's last download errors from stdout ("[MIRROR] x.rpm: Curl error (7): ..."), untrusted. */
  readonly transferErrors?: readonly string[];
  /** The memory limit dnf ran under, for the message when it ran out of it. */
  readonly maxMemoryBytes?: number;
  /** Which dnf it was: dnf5 words its errors otherwise. */
  readonly major?: 4 | 5;
}

/** How many of dnf's download errors are kept: the last tries are the ones that explain a failure. */
const TRANSFER_ERRORS_KEPT = 40;

/** rpm reads %_dbpath from HOME/.rpmmacros; C locale keeps dnf's output parseable. */
function dnfEnv(layout: WorkdirLayout): Record<string, string> {
  return { HOME: layout.home, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' };
}


/**
 * Runs dnf with an argument array (a fixed shell script sets the limit; no argument of dnf's is
 * ever shell text), feeding each stdout line to `onEvent`. dnf runs under `limits`: its data
 * segment limit (LIMIT_AND_EXEC), and its metadata cache is watched, dnf stopped when it grows
 * past the limit.
 */
export async function runDnf(
  dnf: DnfTool,
  args: readonly string[],
  layout: WorkdirLayout,
  limits: DnfLimits,
  mode: 'download' | 'check' | 'match',
  onEvent: (event: DnfLineEvent) => void,
  stop?: ChildStop,
): Promise<DnfRun> {
  const metadata = new AbortController();
  const watch = await watchMetadataGrowth(layout.cache, limits.maxMetadataBytes, (error) => metadata.abort(error));
  const cancel = AbortSignal.any([...(stop === undefined ? [] : [stop.signal]), metadata.signal]);
  const own: ChildStop = { signal: cancel, killOnForcedExit: (pid) => stop?.killOnForcedExit(pid) ?? (() => undefined) };
  const sub = execa('/bin/sh', ['-c', LIMIT_AND_EXEC, LIMIT_SHELL_NAME, String(Math.floor(limits.maxMemoryBytes / 1024)), dnf.path, ...args], {
    env: dnfEnv(layout),
    reject: false,
    ...stopOptions(own),
    stdin: 'ignore',
    buffer: { stdout: false, stderr: true },
    maxBuffer: { stderr: 4 * 1024 * 1024 },
    stripFinalNewline: true,
  });
  trackChild(sub, own);
  // the cache is watched for as long as dnf runs (execa settles once it has ended)
  void sub.finally(() => watch.stop());
  const transferErrors: string[] = [];
  const stopped = (): AgentError => (cancel.reason instanceof AgentError ? cancel.reason : new InterruptedError('INTERRUPTED', 'stopped'));
  const fromStdout = async (): Promise<void> => {
    for await (const line of sub.iterable({ from: 'stdout' })) {
      const event = parseDnfLine(line, mode);
      if (event?.kind === 'transfer-error') {
        transferErrors.push(event.line.slice(0, 1000));
        if (transferErrors.length > TRANSFER_ERRORS_KEPT) transferErrors.shift();
      }
      if (event !== undefined) onEvent(event);
    }
  };
  // dnf5 says what it will download on stderr (still buffered whole for the failure's words)
  const fromDnf5Stderr = async (): Promise<void> => {
    if (dnf.major !== 5 || mode !== 'download') return;
    for await (const line of sub.iterable({ from: 'stderr' })) {
      const event = parseDnf5StderrLine(line);
      if (event !== undefined) onEvent(event);
    }
  };
  try {
    await Promise.all([fromStdout(), fromDnf5Stderr()]);
  } catch (error) {
    if (cancel.aborted) throw stopped();
    throw error;
  }
  const result = await sub;
  // a signal to the whole process group may end dnf before the abort reaches it: still a stop
  // (not so when execa itself killed dnf for its stderr's size)
  const stoppedByRun = result.isMaxBuffer ? cancel.aborted : await stoppedWithRun(result, own, dnf.major === 5 ? 1 : undefined);
  if (result.isCanceled || stoppedByRun) throw stopped();
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  // the shell set the limit, then could not exec dnf (127: not found, 126: not executable); dnf
  // itself never exits so, and nothing of dnf's or a mirror's was printed yet
  const shellSaid = SHELL_EXEC_FAILED.exec(stderr)?.[1];
  if (shellSaid !== undefined && (result.exitCode === 127 || result.exitCode === 126)) {
    const reason = sanitize(shellSaid.split(': ').at(-1) ?? '');
    if (result.exitCode === 127) throw new DnfError('DNF_MISSING', `dnf disappeared: ${sanitize(dnf.path)} could not be started (${reason})`);
    throw new DnfError('DNF_SPAWN_FAILED', `dnf could not be run: starting ${sanitize(dnf.path)} failed (${reason})`);
  }
  if (shellSaid !== undefined && result.exitCode === LIMIT_FAILED) {
    throw new DnfError('DNF_UNUSABLE', `the memory limit for dnf could not be set (ulimit -d): ${sanitize(shellSaid, 300)}`);
  }
  if (result.exitCode === undefined) {
    const lastLines = stderr.trim() === '' ? '' : `\n${sanitizeLines(stderr, 12)}`;
    if (result.code === 'ENOENT') {
      throw new DnfError('DNF_SPAWN_FAILED', 'dnf could not be run: /bin/sh, which starts it under its memory limit, could not be started');
    }
    // execa stops a dnf whose stderr outgrows the buffer: that is dnf's output, not a signal from outside
    if (result.isMaxBuffer) {
      throw new DnfError('DNF_FAILED', `dnf wrote more than 4 MiB of errors and was stopped${lastLines}`);
    }
    // libsolv and libdnf abort when an allocation fails, GLib (librepo) ends on a breakpoint trap:
    // the memory limit, not a crash of their own
    if ((result.signal === 'SIGABRT' || result.signal === 'SIGTRAP') && abortedOutOfMemory(stderr)) throw outOfMemoryError(limits.maxMemoryBytes, lastLines);
    // it ran and died: a crash (a librepo assertion on hostile metadata aborts it), not a failed start
    if (result.signal !== undefined && CRASH_SIGNALS.has(result.signal)) {
      throw new DnfError('DNF_FAILED', `dnf was killed by ${result.signal} (it crashed, on metadata or a package of the mirror's or on its own)${lastLines}`);
    }
    // the agent's own stops (a signal to it, dom0's deadline, an endless download) were taken above:
    // this one came from elsewhere in the UpdateVM. execa's message quotes dnf's whole command line,
    // so the signal alone is named.
    if (result.signal !== undefined) {
      throw new DnfError(
        'DNF_FAILED',
        result.signal === 'SIGKILL'
          ? `dnf was killed by SIGKILL, not by this agent (by the kernel's out-of-memory killer, or by a person or another program in the UpdateVM): retry, and if it happens again check the UpdateVM's free memory${lastLines}`
          : `dnf was killed by ${result.signal}, not by this agent (by a person or another program in the UpdateVM): retry${lastLines}`,
      );
    }
    throw new DnfError('DNF_SPAWN_FAILED', `dnf could not be run: starting /bin/sh (which starts ${sanitize(dnf.path)} under its memory limit) failed (${sanitize(result.code ?? 'no error code')})`);
  }
  return { exitCode: result.exitCode, stderr, transferErrors, maxMemoryBytes: limits.maxMemoryBytes, major: dnf.major };
}

/**
 * dnf's memory limit: the shell's `ulimit -d` (RLIMIT_DATA, in KiB; dash and bash alike) and then
 * exec, so dnf keeps the pid the agent stops. /bin/sh is on every system; util-linux's prlimit is
 * not (Fedora's util-linux-core, in minimal templates, lacks it). Arguments stay an array.
 */
const LIMIT_AND_EXEC = 'ulimit -d "$1" || exit 125; shift; exec "$@"';
/** The shell's $0, which starts its own error lines: "agent-dnf-limit: 1: exec: PATH: not found". */
const LIMIT_SHELL_NAME = 'agent-dnf-limit';
const LIMIT_FAILED = 125;
/** The shell's first words, before dnf could print any (a mirror's text can start a line of dnf's). */
const SHELL_EXEC_FAILED = new RegExp(`^${LIMIT_SHELL_NAME}: (?:line )?1: ([^\n]{1,300})`);

/** Signals a process gets for its own fault, never from the agent's or dom0's stop. */
const CRASH_SIGNALS: ReadonlySet<string> = new Set(['SIGABRT', 'SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGFPE', 'SIGTRAP', 'SIGSYS']);

/** dnf ran out of the memory the agent lets it have: most likely a mirror's decompression bomb. */
function outOfMemoryError(maxMemoryBytes: number | undefined, detail: string): DnfError {
  const limit = maxMemoryBytes === undefined ? '' : ` of ${formatBytes(maxMemoryBytes)}`;
  return new DnfError(
    'DNF_OUT_OF_MEMORY',
    `dnf ran out of memory under the agent's limit${limit} and ended there: most likely a repository served metadata that inflates far beyond any real one (a small compressed file that decompresses without end, from a broken or hostile mirror); a repository of Fedora's size needs about 0.3 GiB: if yours need more, raise --max-dnf-memory in the UpdateVM${detail}`,
  );
}

/** Turns a failed dnf run into the error a person should see. */
export function dnfFailure(run: DnfRun, what: string): DnfError | DiskFullError {
  const transferErrors = run.transferErrors ?? [];
  // dnf's stderr says only "Cannot download": its last tries (stdout) say why
  const detail = sanitizeLines([...transferErrors.slice(-4), run.stderr].join('\n'), 12);
  const failure = classifyFailure(run.stderr, transferErrors, run.major);
  switch (failure.kind) {
    case 'out-of-memory':
      return outOfMemoryError(run.maxMemoryBytes, `\n${detail}`);
    case 'disk-full':
      return new DiskFullError(`disk full while ${what}: free space in the working directory and retry\n${detail}`);
    case 'repo-unreachable':
      return new DnfError(
        'REPO_UNREACHABLE',
        `repository ${failure.repo === undefined ? '(unknown)' : `'${sanitize(failure.repo)}'`} is unreachable while ${what}\n${detail}`,
      );
    case 'repo-metadata-bad':
      return new DnfError(
        'REPO_METADATA_BAD',
        `repository ${failure.repo === undefined ? '(unknown)' : `'${sanitize(failure.repo)}'`} served metadata that is damaged or does not match its checksums while ${what} (a broken or hostile mirror, or a proxy or captive portal answering in its place; a later try or another mirror may serve it whole)\n${detail}`,
      );
    case 'package-download':
      return new DnfError(
        'PACKAGE_DOWNLOAD_FAILED',
        `no mirror served ${failure.packages.length === 0 ? 'every package' : failure.packages.map((p) => sanitize(p, 200)).join(', ')} intact while ${what} (missing there, or bytes that do not match the repository metadata's checksum)\n${detail}`,
      );
    case 'mirror-connection':
      return new DnfError(
        'REPO_UNREACHABLE',
        `the mirror could not be reached, or the connection to it failed, while ${what}: ${CONNECTION_CURL_ERRORS.get(failure.curlCode) ?? 'a connection error'} (curl error ${failure.curlCode})${failure.packages.length === 0 ? '' : ` for ${failure.packages.map((p) => sanitize(p, 200)).join(', ')}`}; no package was found damaged: check the UpdateVM's network (and proxy) and retry, or retry once the mirror is back\n${detail}`,
      );
    case 'no-match':
      return new DnfError(
        'PACKAGE_NOT_FOUND',
        `no package matches ${failure.spec === undefined ? 'the request' : `"${sanitize(failure.spec)}"`} in the enabled repositories\n${detail}`,
      );
    case 'other':
      return new DnfError('DNF_FAILED', `dnf failed (exit ${run.exitCode}) while ${what}${failure.said === undefined ? '' : `: ${sanitize(failure.said, 300)}`}\n${detail}`);
  }
}
