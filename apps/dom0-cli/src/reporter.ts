/**
 * All output goes through here. Three modes: human text (default), --silent (warnings and errors
 * only, on stderr), and --json-progress (one JSON object per line on stdout, nothing else on stdout).
 * Anything that came from the UpdateVM is sanitised before it is written, in every mode.
 */
import { sanitizeForTerminal } from '@dom0-updates/protocol';
import { LINE_CUT_MARK } from './output-lines.ts';

type Stage = 'lock' | 'sync' | 'download' | 'verify' | 'install' | 'check';
type DoneStatus = 'success' | 'no_updates' | 'updates_available' | 'error';
export type ChangeKind = 'installed' | 'upgraded' | 'downgraded' | 'reinstalled' | 'removed';

export interface PackageChange {
  readonly kind: ChangeKind;
  readonly name: string;
  readonly from: string | undefined;
  readonly to: string | undefined;
  /** The arch it had before, when it moved between noarch and an arch (`name` has the new one). */
  readonly fromArch?: string | undefined;
}

/**
 * A change as words: `upgraded a.x86_64 1.0-1 (noarch) -> 2.0-1`, `installed b.noarch 1-1`,
 * `reinstalled c.x86_64 1-1 (was noarch)` (same version, another arch).
 */
export function changeInWords(change: PackageChange): string {
  const detail =
    change.from !== undefined && change.to !== undefined && change.from !== change.to
      ? `${change.from}${change.fromArch === undefined ? '' : ` (${change.fromArch})`} -> ${change.to}`
      : `${change.to ?? change.from ?? ''}${change.fromArch === undefined ? '' : ` (was ${change.fromArch})`}`;
  return `${change.kind} ${change.name} ${detail}`;
}

/** How dom0-receiver starts its own diagnostic lines. */
const RECEIVER_SELF_PREFIX = 'dom0-receiver: ';

/** The percentage each stage starts at in --json-progress mode. */
const STAGE_PERCENT: Record<Stage, number> = {
  lock: 0,
  sync: 5,
  download: 10,
  verify: 70,
  install: 80,
  check: 95,
};

export interface Sink {
  out(line: string): void;
  err(line: string): void;
  /** The terminal's width where the output is a terminal (which wraps long lines), else undefined. */
  outColumns?(): number | undefined;
  errColumns?(): number | undefined;
}

export const processSink: Sink = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  outColumns: () => (process.stdout.isTTY ? process.stdout.columns : undefined),
  errColumns: () => (process.stderr.isTTY ? process.stderr.columns : undefined),
};

/** The most an untrusted line is shown with, its cut mark included. */
const UNTRUSTED_LINE_MAX = 1000;
/** Info lines list names (up to 4096 withheld ones of 255 characters): a cap only against a runaway line. */
const INFO_LINE_MAX = 2 * 1024 * 1024;

/**
 * Sanitised and cut to UNTRUSTED_LINE_MAX. A line readLines cut keeps its mark at the end, and so
 * does one that only its escapes make too long: a line is shown whole or says it was cut.
 */
function untrustedText(raw: string): string {
  const cutByReader = raw.endsWith(LINE_CUT_MARK);
  const text = cutByReader ? raw.slice(0, -LINE_CUT_MARK.length) : raw;
  if (!cutByReader) {
    const whole = sanitizeForTerminal(text, Infinity);
    if (whole.length <= UNTRUSTED_LINE_MAX) return whole;
  }
  return `${sanitizeForTerminal(text, UNTRUSTED_LINE_MAX - LINE_CUT_MARK.length)}${LINE_CUT_MARK}`;
}

/**
 * Rows of an untrusted line, each with the prefix that marks whose words they are. On a terminal
 * a line wider than the terminal is folded here: left to the terminal, its continuation rows would
 * start at the left edge without a prefix, where a line padded to the width could show text that
 * looks like dom0-update's own. Widths are counted high (2 for anything outside ASCII), so a row
 * can come out short but never wraps.
 */
function prefixedRows(prefix: string, text: string, columns: number | undefined, continuation = prefix): string[] {
  // no terminal (or one that does not say its width): one row, as the text is
  if (columns === undefined || columns <= 0) return [`${prefix} ${text}`];
  // however narrow: the terminal would wrap an unfolded row, and a row it starts could read as
  // dom0-update's own; rows too narrow for the prefix hold one character, which reads as nothing
  const room = Math.max(1, columns - Math.max(prefix.length, continuation.length) - 1);
  const rows: string[] = [];
  let row = '';
  let width = 0;
  for (const char of text) {
    const charWidth = char.charCodeAt(0) < 0x80 ? 1 : 2;
    if (width + charWidth > room && row !== '') {
      rows.push(`${rows.length === 0 ? prefix : continuation} ${row}`);
      row = '';
      width = 0;
    }
    row += char;
    width += charWidth;
  }
  rows.push(`${rows.length === 0 ? prefix : continuation} ${row}`);
  return rows;
}

/** dom0-update's own stderr line, folded on a terminal: a row it goes on in starts with this. */
const OWN_CONTINUATION = 'dom0-update: ...';

export type OutputMode = 'human' | 'silent' | 'json';

export class Reporter {
  readonly mode: OutputMode;
  private readonly sink: Sink;
  private readonly updateVm: string;
  /** The receiver's last `rejected ...` diagnostic: the reason when it ends without a record. */
  private lastReceiverVerdict: string | undefined;
  /** The agent's last `error:` line (untrusted, sanitised): the reason when it fails. */
  private lastAgentError: string | undefined;

  constructor(mode: OutputMode, sink: Sink = processSink, updateVm = 'updatevm') {
    this.mode = mode;
    this.sink = sink;
    this.updateVm = updateVm;
  }

  withUpdateVm(name: string): Reporter {
    return new Reporter(this.mode, this.sink, name);
  }

  stage(stage: Stage, text: string): void {
    if (this.mode === 'json') this.json({ type: 'progress', stage, percent: STAGE_PERCENT[stage] });
    else if (this.mode === 'human') this.sink.out(text);
  }

  /** Sanitised too: an info line can quote names from package headers (signed, not terminal-safe). */
  info(raw: string): void {
    const text = sanitizeForTerminal(raw, INFO_LINE_MAX);
    if (this.mode === 'json') this.json({ type: 'message', level: 'info', text });
    else if (this.mode === 'human') this.sink.out(text);
  }

  warning(raw: string): void {
    const text = sanitizeForTerminal(raw, 2000);
    if (this.mode === 'json') this.json({ type: 'message', level: 'warning', text });
    else this.ownErrLine(`warning: ${text}`);
  }

  /**
   * A line the UpdateVM printed: untrusted, shown only sanitised and marked as its words. One
   * beyond the cap on shown lines (`shown` false) is still read for the agent's last error.
   */
  agentLine(raw: string, shown = true): void {
    const text = untrustedText(raw);
    if (/^updatevm-agent: error: /.test(text)) this.lastAgentError = text.slice('updatevm-agent: '.length);
    if (shown) this.untrustedLine(`[${this.updateVm}]`, text);
  }

  /** Human mode: on stdout. JSON mode: on stderr, as stdout carries only dom0's own statements. */
  private untrustedLine(prefix: string, text: string): void {
    if (this.mode === 'human') for (const row of prefixedRows(prefix, text, this.sink.outColumns?.())) this.sink.out(row);
    else if (this.mode === 'json') for (const row of prefixedRows(prefix, text, this.sink.errColumns?.())) this.sink.err(row);
  }

  /**
   * A diagnostic line of dom0's own receiver (local transport). It quotes sender-chosen names,
   * already sanitised by the receiver; sanitised again here all the same.
   */
  receiverLine(raw: string): void {
    // The receiver names itself at the start of each diagnostic; the bracket prefix says it already.
    const text = untrustedText(raw.startsWith(RECEIVER_SELF_PREFIX) ? raw.slice(RECEIVER_SELF_PREFIX.length) : raw);
    if (text.startsWith('rejected ')) this.lastReceiverVerdict = text;
    this.untrustedLine('[dom0-receiver]', text);
  }

  /** The UpdateVM's agent's last error line, marked as its words (shown in the final error in every mode). */
  get agentError(): string | undefined {
    return this.lastAgentError === undefined ? undefined : `[${this.updateVm}] ${this.lastAgentError}`;
  }

  /** What the receiver last said it rejected and why (shown in the final error in every mode). */
  get receiverVerdict(): string | undefined {
    return this.lastReceiverVerdict;
  }

  received(rawNevra: string, rawSigner: string): void {
    const nevra = clean(rawNevra);
    const signer = clean(rawSigner);
    if (this.mode === 'json') this.json({ type: 'package', status: 'verified', nevra, signer });
    else if (this.mode === 'human') this.sink.out(`  verified ${nevra} (signed by ${signer})`);
  }

  rejected(rawMember: string | undefined, rawCode: string, reason: string): void {
    const member = cleanOptional(rawMember);
    const code = clean(rawCode);
    const text = sanitizeForTerminal(reason, 1000);
    if (this.mode === 'json') {
      this.json({ type: 'rejected', member: member ?? null, code, reason: text });
    } else {
      this.ownErrLine(`rejected ${member ?? 'the batch'}: ${text} [${code}]`);
    }
  }

  change(raw: PackageChange): void {
    const change = { kind: raw.kind, name: clean(raw.name), from: cleanOptional(raw.from), to: cleanOptional(raw.to), fromArch: cleanOptional(raw.fromArch) };
    if (this.mode === 'json') {
      const moved = change.fromArch === undefined ? {} : { fromArch: change.fromArch };
      this.json({ type: 'change', change: change.kind, name: change.name, from: change.from ?? null, to: change.to ?? null, ...moved });
    } else if (this.mode === 'human') {
      this.sink.out(`  ${changeInWords(change)}`);
    }
  }

  /**
   * `olderThan`: the installed version the package would roll back, when it is older. `rename`:
   * the installed packages its Obsoletes would replace, when it looks like a rename.
   */
  unrequested(rawNevra: string, olderThan?: string, rename?: { readonly name: string; readonly replaces: readonly string[] }): void {
    const nevra = clean(rawNevra);
    const older = olderThan === undefined ? undefined : clean(olderThan);
    const replaces = rename?.replaces.map(clean);
    if (this.mode === 'json') {
      this.json({ type: 'unrequested', nevra, ...(older === undefined ? {} : { olderThanInstalled: older }), ...(replaces === undefined ? {} : { obsoletes: replaces }) });
    } else {
      const rollback = older === undefined ? '' : ` (older than the installed ${older}: an attempted rollback)`;
      const renamed =
        rename === undefined || replaces === undefined
          ? ''
          : ` (its Obsoletes would replace ${replaces.join(', ')}: if your distribution announced that rename, install it by name: dom0-update ${clean(rename.name)})`;
      this.ownErrLine(`unrequested package received and not installed: ${nevra}${rollback}${renamed}`);
    }
  }

  /** Error messages can quote what the receiver recorded about a member: sanitised too. */
  error(rawCode: string, rawMessage: string): void {
    const code = clean(rawCode);
    const message = sanitizeForTerminal(rawMessage, 2000);
    if (this.mode === 'json') this.json({ type: 'error', code, message });
    else this.ownErrLine(`error: ${message} [${code}]`);
  }

  done(status: DoneStatus, exitCode: number, text: string): void {
    if (this.mode === 'json') this.json({ type: 'done', status, exitCode, percent: 100 });
    // A failure has no verdict line: the error on stderr is the verdict.
    else if (this.mode === 'human' && text !== '') this.sink.out(text);
  }

  /**
   * A line of dom0-update's own on stderr that quotes untrusted text (a reason the receiver
   * recorded, what the agent said): on a terminal it is folded here, every row it goes on in marked
   * as a continuation, so padding cannot put text at the start of a row that reads as a line of its own.
   */
  private ownErrLine(text: string): void {
    for (const row of prefixedRows('dom0-update:', text, this.sink.errColumns?.(), OWN_CONTINUATION)) this.sink.err(row);
  }

  private json(value: Record<string, unknown>): void {
    this.sink.out(JSON.stringify(value));
  }
}

// Package names and versions come from package headers: signed, but still not terminal-safe text.
function clean(text: string): string {
  return sanitizeForTerminal(text, 300);
}

function cleanOptional(text: string | undefined): string | undefined {
  return text === undefined ? undefined : clean(text);
}
