import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { readLines } from '../src/output-lines.ts';
import { Reporter, type OutputMode } from '../src/reporter.ts';

function capture(mode: OutputMode): { reporter: Reporter; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { reporter: new Reporter(mode, { out: (l) => out.push(l), err: (l) => err.push(l) }, 'sys-net'), out, err };
}

describe('Reporter', () => {
  it('sanitises what the UpdateVM prints and marks it as the UpdateVM speaking', () => {
    const { reporter, out } = capture('human');
    reporter.agentLine('ok \u001b[2J\u001b]0;pwned\u0007 done\r');
    expect(out).toEqual(['[sys-net] ok \\x1b[2J\\x1b]0;pwned\\x07 done\\x0d']);
  });

  it('shows an endless line from the UpdateVM cut, with the mark that says so', async () => {
    const { reporter, out } = capture('human');
    await readLines(Readable.from([Buffer.from('x'.repeat(5000)), Buffer.from('y'.repeat(5000)), Buffer.from('\nnext\n')]), (line) => reporter.agentLine(line));
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/^\[sys-net\] x+ \[line cut\]$/);
    expect(out[1]).toBe('[sys-net] next');
  });

  it('cuts a long line at the same place with the same mark however the pipe splits it', async () => {
    const line = 'w'.repeat(950);
    const splits = [[`${line}\nnext\n`], [line.slice(0, 500), `${line.slice(500)}\nnext\n`], [line.slice(0, 920), `${line.slice(920)}\nnext\n`], [`next\n${line}`]];
    for (const chunks of splits) {
      const lines: string[] = [];
      await readLines(Readable.from(chunks.map((c) => Buffer.from(c))), (l) => lines.push(l));
      expect(lines).toContain(`${'w'.repeat(900)} [line cut]`);
      expect(lines).toContain('next');
      expect(lines).toHaveLength(2);
    }
  });

  it('shows bytes that are not UTF-8 as \\xNN, as the protocol says, and valid UTF-8 as text, however the pipe splits them', async () => {
    for (const chunks of [[Buffer.from([0x6f, 0x6b, 0xff, 0xc3, 0x0a])], [Buffer.from([0x6f, 0x6b]), Buffer.from([0xff]), Buffer.from([0xc3, 0x0a])]]) {
      const { reporter, out } = capture('human');
      await readLines(Readable.from([...chunks, Buffer.from('caf\u00e9 \u00e9\n', 'utf8').subarray(0, 4), Buffer.from('caf\u00e9 \u00e9\n', 'utf8').subarray(4)]), (line) => reporter.agentLine(line));
      expect(out).toEqual(['[sys-net] ok\\xff\\xc3', '[sys-net] caf\u00e9 \u00e9']);
    }
  });

  it('cuts a long line of multi-byte characters between two characters', async () => {
    const lines: string[] = [];
    // byte 900 is the second byte of a character: the cut goes back to the character's start
    await readLines(Readable.from([Buffer.from(`a${'\u00e9'.repeat(600)}\n`, 'utf8')]), (l) => lines.push(l));
    expect(lines).toEqual([`a${'\u00e9'.repeat(449)} [line cut]`]);
  });

  it('marks a line cut when only its escapes make it too long to show', async () => {
    const { reporter, out } = capture('human');
    // 900 bytes, under readLines' cut, but 3600 characters once escaped
    await readLines(Readable.from([Buffer.from(`${'\u001b'.repeat(900)}\n`)]), (line) => reporter.agentLine(line));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^\[sys-net\] (\\x1b)+… \[line cut\]$/);
    expect((out[0] ?? '').length).toBeLessThanOrEqual('[sys-net] '.length + 1000);
    // one that fits escaped is shown whole, with no mark
    const fits = capture('human');
    fits.reporter.agentLine('\u001b'.repeat(247));
    expect(fits.out).toEqual([`[sys-net] ${'\\x1b'.repeat(247)}`]);
  });

  it('keeps the cut mark of a cut line although escaping lengthens the rest', async () => {
    const { reporter, out } = capture('human');
    await readLines(Readable.from([Buffer.from('\u001b'.repeat(5000)), Buffer.from('\n')]), (line) => reporter.agentLine(line));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^\[sys-net\] (\\x1b)+… \[line cut\]$/);
    expect((out[0] ?? '').length).toBeLessThanOrEqual('[sys-net] '.length + 1000);
  });

  it('folds an untrusted line wider than the terminal, every row with its prefix', () => {
    const out: string[] = [];
    const sink = { out: (l: string) => out.push(l), err: () => undefined, outColumns: () => 40 };
    const reporter = new Reporter('human', sink, 'sys-net');
    // padded so that, left to the terminal, "Done:" would start a row of its own
    const text = `${'x'.repeat(40 - '[sys-net] '.length)}Done: 1 package change(s) in dom0.${'é'.repeat(30)}`;
    reporter.agentLine(text);
    reporter.receiverLine(`rejected ${'y'.repeat(60)}`);
    expect(out.length).toBeGreaterThan(4);
    for (const row of out) {
      expect(row).toMatch(/^\[(sys-net|dom0-receiver)\] /);
      // anything outside ASCII counted twice: never wider than the terminal
      expect(row.replace(/[^\x00-\x7f]/gu, '..').length).toBeLessThanOrEqual(40);
    }
    const agentRows = out.filter((row) => row.startsWith('[sys-net] ')).map((row) => row.slice('[sys-net] '.length));
    expect(agentRows.join('')).toBe(text);
  });

  it('folds its own stderr lines that quote untrusted text, every row after the first marked as going on', () => {
    const err: string[] = [];
    const sink = { out: () => undefined, err: (l: string) => err.push(l), errColumns: () => 60 };
    const reporter = new Reporter('human', sink, 'sys-net');
    // padded so that, left to the terminal, "Done:" or a forged error would start a row
    const said = `${'x'.repeat(60 - 'dom0-update: error: '.length)}Done: 3 package change(s) in dom0.${'p'.repeat(40)}dom0-update: error: forged`;
    reporter.error('AGENT_FAILED', `downloading the updates failed (it said: ${said})`);
    reporter.rejected('m.rpm', 'RPM_BAD', said);
    reporter.warning(said);
    expect(err.length).toBeGreaterThan(6);
    for (const row of err) {
      expect(row.length).toBeLessThanOrEqual(60);
      expect(row).toMatch(/^dom0-update: (error: |rejected |warning: |\.\.\. )/);
    }
    // only the first row of each line says what it is
    expect(err.filter((row) => row.startsWith('dom0-update: error: '))).toHaveLength(1);
    expect(err.filter((row) => !row.startsWith('dom0-update: ... '))).toHaveLength(3);
  });

  it('folds on a terminal too narrow for twenty columns of text too, down to one character a row when the prefix fills it', () => {
    const text = 'dom0-update: Installed: dom0-evil-6.6-6.noarch';
    for (const columns of [24, 12, 5]) {
      const out: string[] = [];
      const reporter = new Reporter('human', { out: (l: string) => out.push(l), err: () => undefined, outColumns: () => columns }, 'sys-net');
      reporter.agentLine(text);
      const room = Math.max(1, columns - '[sys-net] '.length);
      for (const row of out) {
        expect(row).toMatch(/^\[sys-net\] /);
        expect(row.length - '[sys-net] '.length).toBeLessThanOrEqual(room);
      }
      expect(out.map((row) => row.slice('[sys-net] '.length)).join('')).toBe(text);
    }
    // a terminal that gives no width (0) is treated as none
    const out: string[] = [];
    new Reporter('human', { out: (l: string) => out.push(l), err: () => undefined, outColumns: () => 0 }, 'sys-net').agentLine(text);
    expect(out).toEqual([`[sys-net] ${text}`]);
  });

  it('does not fold where the output is no terminal', () => {
    const { reporter, out } = capture('human');
    reporter.agentLine('z'.repeat(300));
    expect(out).toEqual([`[sys-net] ${'z'.repeat(300)}`]);
  });

  it('shows a change of arch beside the old version', () => {
    const { reporter, out } = capture('human');
    reporter.change({ kind: 'upgraded', name: 'a.x86_64', from: '1-1', to: '2-1', fromArch: 'noarch' });
    reporter.change({ kind: 'upgraded', name: 'b.noarch', from: '1-1', to: '2-1' });
    expect(out).toEqual(['  upgraded a.x86_64 1-1 (noarch) -> 2-1', '  upgraded b.noarch 1-1 -> 2-1']);
  });

  it('says only the old arch when a package moved arch at the same version', () => {
    const { reporter, out } = capture('human');
    reporter.change({ kind: 'reinstalled', name: 'a.x86_64', from: '1-1', to: '1-1', fromArch: 'noarch' });
    reporter.change({ kind: 'reinstalled', name: 'b.noarch', from: undefined, to: '1-1' });
    expect(out).toEqual(['  reinstalled a.x86_64 1-1 (was noarch)', '  reinstalled b.noarch 1-1']);
  });

  it('still takes the agent\'s last error from a line past the cap on shown lines', () => {
    const { reporter, out } = capture('human');
    reporter.agentLine('updatevm-agent: error: the mirror failed [REPO_UNREACHABLE]', false);
    expect(out).toEqual([]);
    expect(reporter.agentError).toBe('[sys-net] error: the mirror failed [REPO_UNREACHABLE]');
  });

  it('sanitises package names, rejection reasons and members', () => {
    const { reporter, err } = capture('human');
    reporter.rejected('evil\u001b[31m.rpm', 'RPM_BAD_SIGNATURE', 'bad \u202e sig');
    expect(err[0]).toBe('dom0-update: rejected evil\\x1b[31m.rpm: bad \\u202e sig [RPM_BAD_SIGNATURE]');
    reporter.unrequested('x-1-1.noarch\u0007');
    expect(err[1]).toContain('x-1-1.noarch\\x07');
    reporter.error('REJECTED', 'dom0 rejected a\u001b[8m.rpm');
    expect(err[2]).toBe('dom0-update: error: dom0 rejected a\\x1b[8m.rpm [REJECTED]');
    reporter.unrequested('y-1-1.noarch', '2-1\u001b[8m');
    expect(err[3]).toBe('dom0-update: unrequested package received and not installed: y-1-1.noarch (older than the installed 2-1\\x1b[8m: an attempted rollback)');
  });

  it('sanitises warnings, which quote received package names, in every mode', () => {
    const human = capture('human');
    human.reporter.warning('verified update evil\u001b[2J-2-1.noarch was not installed');
    expect(human.err).toEqual(['dom0-update: warning: verified update evil\\x1b[2J-2-1.noarch was not installed']);
    const json = capture('json');
    json.reporter.warning('requested package b\u0007-1-1.noarch was received but is not installed');
    expect(json.out.map((l) => JSON.parse(l) as unknown)).toEqual([{ type: 'message', level: 'warning', text: 'requested package b\\x07-1-1.noarch was received but is not installed' }]);
  });

  it('sanitises info lines, which quote names from package headers (bidi overrides and C1 controls too), in every mode', () => {
    const hostile = 'Not offered to dnf: t-0:3.0-1.noarch, whose Obsoletes would replace the requested dom0-\u202eelbat\u009b2J\u0085';
    const human = capture('human');
    human.reporter.info(hostile);
    expect(human.out).toEqual(['Not offered to dnf: t-0:3.0-1.noarch, whose Obsoletes would replace the requested dom0-\\u202eelbat\\x9b2J\\x85']);
    const json = capture('json');
    json.reporter.info(hostile);
    expect(JSON.parse(json.out[0] ?? '')).toEqual({ type: 'message', level: 'info', text: human.out[0] });
  });

  it('sanitises what an unrequested rename would replace, in every mode', () => {
    const human = capture('human');
    human.reporter.unrequested('n-1-1.noarch', undefined, { name: 'n', replaces: ['the installed o\u001b[8m.noarch 1.0-1'] });
    expect(human.err[0]).toContain('(its Obsoletes would replace the installed o\\x1b[8m.noarch 1.0-1: ');
    const json = capture('json');
    json.reporter.unrequested('n-1-1.noarch', undefined, { name: 'n', replaces: ['the installed o\u001b[8m.noarch 1.0-1'] });
    expect(JSON.parse(json.out[0] ?? '')).toEqual({ type: 'unrequested', nevra: 'n-1-1.noarch', obsoletes: ['the installed o\\x1b[8m.noarch 1.0-1'] });
  });

  it('shows the receiver\'s own diagnostics with one prefix, still sanitised', () => {
    const { reporter, out } = capture('human');
    reporter.receiverLine('dom0-receiver: published generation 3 \u001b[2J');
    reporter.receiverLine('something else');
    expect(out).toEqual(['[dom0-receiver] published generation 3 \\x1b[2J', '[dom0-receiver] something else']);
  });

  it('writes only JSON lines to stdout in --json-progress mode, agent lines to stderr', () => {
    const { reporter, out, err } = capture('json');
    reporter.stage('download', 'ignored text');
    reporter.agentLine('downloading 50%');
    reporter.received('a-2-1.noarch', 'ABCD');
    reporter.change({ kind: 'upgraded', name: 'a.noarch', from: '1-1', to: '2-1' });
    reporter.change({ kind: 'upgraded', name: 'd.x86_64', from: '1-1', to: '2-1', fromArch: 'noarch' });
    reporter.unrequested('b-1-1.noarch');
    reporter.unrequested('c-1-1.noarch', '2-1');
    reporter.rejected(undefined, 'TAR_LINK', 'a link');
    reporter.error('E', 'failed');
    reporter.done('error', 1, 'ignored');
    expect(out.map((l) => JSON.parse(l) as unknown)).toEqual([
      { type: 'progress', stage: 'download', percent: 10 },
      { type: 'package', status: 'verified', nevra: 'a-2-1.noarch', signer: 'ABCD' },
      { type: 'change', change: 'upgraded', name: 'a.noarch', from: '1-1', to: '2-1' },
      { type: 'change', change: 'upgraded', name: 'd.x86_64', from: '1-1', to: '2-1', fromArch: 'noarch' },
      { type: 'unrequested', nevra: 'b-1-1.noarch' },
      { type: 'unrequested', nevra: 'c-1-1.noarch', olderThanInstalled: '2-1' },
      { type: 'rejected', member: null, code: 'TAR_LINK', reason: 'a link' },
      { type: 'error', code: 'E', message: 'failed' },
      { type: 'done', status: 'error', exitCode: 1, percent: 100 },
    ]);
    expect(err).toEqual(['[sys-net] downloading 50%']);
  });

  it('prints only errors and warnings in --silent mode', () => {
    const { reporter, out, err } = capture('silent');
    reporter.stage('sync', 'Sending...');
    reporter.info('info');
    reporter.agentLine('agent');
    reporter.received('a', 'b');
    reporter.done('success', 0, 'Done');
    expect(out).toEqual([]);
    reporter.error('E', 'broken');
    expect(err).toEqual(['dom0-update: error: broken [E]']);
  });
});
