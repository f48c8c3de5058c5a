import type { Writable } from 'node:stream';
import type { ProgressEvent } from './events.ts';

/** Receives progress; every string in an event is already sanitised. */
export interface Reporter {
  report(event: ProgressEvent): void;
  /** Ends a live line so later output starts on a fresh line. */
  close(): void;
}

export type ReporterKind = 'json' | 'tty' | 'plain';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** One line of text for an event, or undefined when a person need not see it. */
export function describe(event: ProgressEvent): string | undefined {
  switch (event.stage) {
    case 'sync':
      return `state: received ${event.files} files (${formatBytes(event.bytes)}) from dom0`;
    case 'resolve':
      return 'resolving: asking the repositories';
    case 'download': {
      const name = event.package === undefined ? '' : ` ${event.package}`;
      const size = event.bytes === undefined ? undefined : formatBytes(event.bytes);
      // without a total (dnf printed none, as for a reinstall) a bare count would read as nothing
      if (event.total === null) {
        return `downloading: ${event.done} package${event.done === 1 ? '' : 's'}${size === undefined ? '' : `, ${size}`} so far${name}`;
      }
      const pct = event.percent === null ? '' : ` ${event.percent}%`;
      return `downloading: ${event.done}/${event.total}${pct}${size === undefined ? '' : ` (${size} so far)`}${name}`;
    }
    case 'send':
      return `sending: ${formatBytes(event.bytes)} of ${formatBytes(event.total)} (${event.percent}%)`;
    case 'info':
      return event.message;
    case 'done':
      return undefined;
  }
}

class JsonReporter implements Reporter {
  constructor(private readonly out: Writable) {}
  report(event: ProgressEvent): void {
    this.out.write(`${JSON.stringify(event)}\n`);
  }
  close(): void {}
}

class PlainReporter implements Reporter {
  private lastSendPercent = -1;
  constructor(private readonly out: Writable) {}
  report(event: ProgressEvent): void {
    // Without a terminal, sending progress is thinned to every 10% to keep logs readable.
    if (event.stage === 'send') {
      const step = Math.floor(event.percent / 10);
      if (step === this.lastSendPercent) return;
      this.lastSendPercent = step;
    }
    const line = describe(event);
    if (line !== undefined) this.out.write(`${line}\n`);
  }
  close(): void {}
}

/** A single live status line, rewritten in place; `info` lines scroll above it. */
class TtyReporter implements Reporter {
  private live = false;
  constructor(private readonly out: Writable) {}
  report(event: ProgressEvent): void {
    const line = describe(event);
    if (line === undefined) return;
    if (event.stage === 'info' || event.stage === 'sync') {
      this.clear();
      this.out.write(`${line}\n`);
      return;
    }
    this.out.write(`\r\x1b[2K${line}`);
    this.live = true;
  }
  private clear(): void {
    if (this.live) this.out.write('\r\x1b[2K');
    this.live = false;
  }
  close(): void {
    if (this.live) this.out.write('\n');
    this.live = false;
  }
}

export function createReporter(kind: ReporterKind, out: Writable): Reporter {
  switch (kind) {
    case 'json':
      return new JsonReporter(out);
    case 'tty':
      return new TtyReporter(out);
    case 'plain':
      return new PlainReporter(out);
  }
}
