import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EncodeError } from '@dom0-updates/protocol';
import { runAgent } from '../src/agent-process.ts';
import { killPidFile, settledState } from './support/process-state.ts';

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'agent-process-'));
  dirs.push(dir);
  return dir;
}

const quiet = { sendState: () => Promise.resolve(), onDropped: () => undefined };

/** The receiver's stand-in: reads the stream, then replies with far more than the pipes hold. */
const BIG_REPLY_RECEIVER = ['node', '-e', "process.stdin.resume(); process.stdin.on('end', () => process.stdout.write('x'.repeat(4 << 20)));"];

describe('runAgent', () => {
  it('ends soon after the agent exits although a process left in its group holds its output pipes', async () => {
    const dir = scratch();
    const pidFile = join(dir, 'stray.pid');
    const lines: string[] = [];
    // the deadline is an hour away: the run must end long before the test's own timeout
    const result = await runAgent(
      { file: 'sh', args: ['-c', `sleep 300 </dev/null & echo $! > ${pidFile}; echo sent; exit 0`] },
      { ...quiet, timeoutSeconds: 3600, onLine: (line) => lines.push(line) },
    );
    expect(result.exitCode).toBe(0);
    expect(lines).toContain('sent');
    expect(await settledState(Number(readFileSync(pidFile, 'utf8')))).toMatch(/^(gone|Z)$/);
  }, 20_000);

  it('also stops waiting for a process that left the group holding the pipes', async () => {
    const dir = scratch();
    const pidFile = join(dir, 'outside.pid');
    try {
      const result = await runAgent(
        { file: 'sh', args: ['-c', `setsid sleep 300 </dev/null & echo $! > ${pidFile}; exit 3`] },
        { ...quiet, timeoutSeconds: 3600, onLine: () => undefined },
      );
      expect(result.exitCode).toBe(3);
    } finally {
      killPidFile(pidFile);
    }
  }, 20_000);

  it('ends soon after the agent exits although a process that left the group holds fds 3 and 4 without writing, and starts no receiver', async () => {
    const dir = scratch();
    const pidFile = join(dir, 'stream-holder.pid');
    const started = join(dir, 'receiver-started');
    try {
      const result = await runAgent(
        // the stray keeps only the stream and reply ends, in a session of its own
        { file: 'sh', args: ['-c', `setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $! > ${pidFile}; exit 0`] },
        { ...quiet, timeoutSeconds: 3600, onLine: () => undefined, receiver: { argv: ['touch', started], onLine: () => undefined } },
      );
      expect(result).toEqual({ exitCode: 0, receiver: { kind: 'not-started' } });
      expect(existsSync(started)).toBe(false);
    } finally {
      killPidFile(pidFile);
    }
  }, 20_000);

  it('takes neither "no updates" nor "updates available" from an agent that never got dom0\'s state', async () => {
    for (const code of [0, 100]) {
      const run = runAgent(
        { file: 'sh', args: ['-c', `exec 0<&-; exit ${String(code)}`] },
        { ...quiet, sendState: () => Promise.reject(new Error('write EPIPE')), timeoutSeconds: 60, onLine: () => undefined },
      );
      await expect(run).rejects.toMatchObject({ code: 'TRANSPORT_STATE_SYNC', exitCode: 125, message: "sending dom0's state failed: write EPIPE" });
    }
  });

  it("calls a state file dom0 could not read dom0's own failure, whatever the agent made of the cut stream", async () => {
    for (const code of [0, 1, 100, 125]) {
      const run = runAgent(
        { file: 'sh', args: ['-c', `cat >/dev/null; exit ${String(code)}`] },
        { ...quiet, sendState: () => Promise.reject(new EncodeError('ENCODE_NOT_A_FILE', 'cannot open /k: ELOOP', 'rpm-gpg/RPM-GPG-KEY-k')), timeoutSeconds: 60, onLine: () => undefined },
      );
      await expect(run).rejects.toMatchObject({ code: 'STATE_UNREADABLE', exitCode: 1, message: expect.stringContaining('dom0 could not send its state to the UpdateVM (ENCODE_NOT_A_FILE): ') });
    }
    // an output the agent closed is the agent's doing: its exit code decides
    const closed = await runAgent(
      { file: 'sh', args: ['-c', 'exec 0<&-; exit 3'] },
      { ...quiet, sendState: () => Promise.reject(new EncodeError('ENCODE_OUTPUT_CLOSED', 'the output stream closed early')), timeoutSeconds: 60, onLine: () => undefined },
    );
    expect(closed.exitCode).toBe(3);
  });

  it('still reads everything the agent printed before it exited', async () => {
    const lines: string[] = [];
    const result = await runAgent(
      { file: 'sh', args: ['-c', 'i=0; while [ $i -lt 3000 ]; do echo "line $i"; i=$((i+1)); done; exit 0'] },
      { ...quiet, timeoutSeconds: 3600, onLine: (line) => lines.push(line) },
    );
    expect(result.exitCode).toBe(0);
    expect(lines).toHaveLength(3000);
    expect(lines.at(-1)).toBe('line 2999');
  });

  it('says when the agent has been quiet a while, once, after its last line, with the time the deadline leaves', async () => {
    const events: string[] = [];
    const notices: [number, number][] = [];
    // talks for 2 s (a line every 0.1 s, well inside the 0.9 s it may be quiet), then says nothing for 2.5 s
    const script = 'i=0; while [ $i -lt 20 ]; do echo "busy $i"; i=$((i+1)); sleep 0.1; done; sleep 2.5; exit 0';
    const result = await runAgent(
      { file: 'sh', args: ['-c', script] },
      {
        ...quiet,
        timeoutSeconds: 600,
        onLine: () => events.push('line'),
        silenceNoticeMs: 900,
        onSilence: (quietFor, left) => {
          events.push('notice');
          notices.push([quietFor, left]);
        },
      },
    );
    expect(result.exitCode).toBe(0);
    // none while it talked, one for the silence (the next would come 300 s later)
    expect(events).toEqual([...Array<string>(20).fill('line'), 'notice']);
    const [quietFor, left] = notices[0] ?? [-1, -1];
    // in whole seconds: at the first check at least 0.9 s into the silence
    expect([0, 1]).toContain(quietFor);
    // the deadline is TIMEOUT plus its grace (660 s), a few seconds of which have gone
    expect(left).toBeGreaterThan(650);
    expect(left).toBeLessThanOrEqual(660);
  });

  it('says nothing of silence once the agent has exited, while the run waits on what it left holding its pipes', async () => {
    const notices: number[] = [];
    const result = await runAgent(
      { file: 'sh', args: ['-c', 'echo started; sleep 3 & exit 0'] },
      { ...quiet, timeoutSeconds: 600, onLine: () => undefined, silenceNoticeMs: 300, onSilence: (quietFor) => notices.push(quietFor) },
    );
    expect(result.exitCode).toBe(0);
    expect(notices).toEqual([]);
  });

  it('waits out a TIMEOUT longer than a single timer can hold instead of firing at once', async () => {
    // 2^31 ms is about 24.8 days; Node turns a longer setTimeout into 1 ms
    const result = await runAgent({ file: 'sh', args: ['-c', 'sleep 1; exit 0'] }, { ...quiet, timeoutSeconds: 3_000_000, onLine: () => undefined });
    expect(result.exitCode).toBe(0);
  });

  it('past the cap reads only the agent\'s own error lines, as not to be shown, and says once that it dropped some', async () => {
    const seen: [string, boolean][] = [];
    let dropped = 0;
    const result = await runAgent(
      {
        file: 'sh',
        args: ['-c', 'i=0; while [ $i -lt 5003 ]; do echo "line $i"; i=$((i+1)); done; echo "updatevm-agent: error: last words"; echo after'],
      },
      { ...quiet, onDropped: () => (dropped += 1), timeoutSeconds: 3600, onLine: (line, shown) => seen.push([line, shown]) },
    );
    expect(result.exitCode).toBe(0);
    expect(seen).toHaveLength(5001);
    expect(seen.at(4999)).toEqual(['line 4999', true]);
    expect(seen.at(5000)).toEqual(['updatevm-agent: error: last words', false]);
    expect(dropped).toBe(1);
  });

  it('stops an agent that prints more than 32 MiB on stdout and stderr together, and fails with AGENT_OUTPUT_FLOOD', async () => {
    const dir = scratch();
    const pidFile = join(dir, 'sleeper.pid');
    // 20 MiB of empty lines on each stream: neither alone is over the limit
    const flood = "head -c 20971520 /dev/zero | tr '\\0' '\\n'";
    const lines: string[] = [];
    const run = runAgent(
      { file: 'sh', args: ['-c', `sleep 300 & echo $! > ${pidFile}; ${flood}; ${flood} >&2; wait`] },
      { ...quiet, timeoutSeconds: 3600, onLine: (line) => lines.push(line) },
    );
    await expect(run).rejects.toMatchObject({ code: 'AGENT_OUTPUT_FLOOD', exitCode: 1, message: expect.stringContaining('more than 32 MiB') });
    expect(lines).toHaveLength(5000);
    expect(await settledState(Number(readFileSync(pidFile, 'utf8')))).toMatch(/^(gone|Z)$/);
  }, 30_000);

  it('takes an agent that prints just under 32 MiB (33,041,250 bytes) and exits', async () => {
    const result = await runAgent(
      { file: 'sh', args: ['-c', "head -c 33000000 /dev/zero | tr '\\0' 'x' | fold -w 800"] },
      { ...quiet, timeoutSeconds: 3600, onLine: () => undefined },
    );
    expect(result.exitCode).toBe(0);
  }, 30_000);

  it('takes an agent that prints exactly 32 MiB on stdout and stderr together: only more is a flood', async () => {
    // 16 MiB of empty lines on each stream, 33,554,432 bytes in all
    const half = "head -c 16777216 /dev/zero | tr '\\0' '\\n'";
    const result = await runAgent({ file: 'sh', args: ['-c', `${half}; ${half} >&2`] }, { ...quiet, timeoutSeconds: 3600, onLine: () => undefined });
    expect(result.exitCode).toBe(0);
  }, 30_000);

  it('ends soon after an agent that closed its reply end unread, however large the receiver\'s reply', async () => {
    // the agent sends a byte, closes dom0's reply (fd 4) without reading it, and exits
    const result = await runAgent(
      { file: 'sh', args: ['-c', 'exec 4<&-; printf x >&3; exit 0'] },
      { ...quiet, timeoutSeconds: 3600, onLine: () => undefined, receiver: { argv: BIG_REPLY_RECEIVER, onLine: () => undefined } },
    );
    expect(result.exitCode).toBe(0);
    // the receiver wrote its whole reply (into nothing) and exited by itself, not at the deadline
    expect(result.receiver).toEqual({ kind: 'exited', exitCode: 0, signal: null });
  }, 20_000);

  it('ends soon after an agent that closed its reply end well before it began the stream', async () => {
    // dom0's end of fd 4 has seen the close and shut before the first byte starts the receiver
    const result = await runAgent(
      { file: 'sh', args: ['-c', 'exec 4<&-; sleep 0.5; printf x >&3; exit 0'] },
      { ...quiet, timeoutSeconds: 3600, onLine: () => undefined, receiver: { argv: BIG_REPLY_RECEIVER, onLine: () => undefined } },
    );
    expect(result.exitCode).toBe(0);
    expect(result.receiver).toEqual({ kind: 'exited', exitCode: 0, signal: null });
  }, 20_000);

  it('ends soon after an agent that left a process outside its group holding its reply end unread', async () => {
    const pidFile = join(scratch(), 'stray.pid');
    // the stray (its own session) keeps fd 4 open and never reads it; the agent itself exits
    const agent = `printf x >&3; exec 3>&-; setsid sleep 300 <&- >/dev/null 2>&1 & echo $! > ${pidFile}; exit 0`;
    try {
      const result = await runAgent(
        { file: 'sh', args: ['-c', agent] },
        { ...quiet, timeoutSeconds: 3600, onLine: () => undefined, receiver: { argv: BIG_REPLY_RECEIVER, onLine: () => undefined } },
      );
      expect(result.exitCode).toBe(0);
      // the receiver's reply, more than the sockets hold, was dropped once the agent was gone
      expect(result.receiver).toEqual({ kind: 'exited', exitCode: 0, signal: null });
    } finally {
      killPidFile(pidFile);
    }
  }, 20_000);
});
