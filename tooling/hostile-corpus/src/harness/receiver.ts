import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProcess, type ProcessResult, type StreamSource } from './process.ts';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** The built receiver bundle, exactly as dom0 runs it (turbo builds it before this package's tests). */
export const RECEIVER_BUNDLE = join(REPO_ROOT, 'apps', 'dom0-receiver', 'dist', 'dom0-receiver.mjs');

export function assertBundleBuilt(): void {
  if (!existsSync(RECEIVER_BUNDLE)) {
    throw new Error(`${RECEIVER_BUNDLE} is missing: run \`pnpm build\` (turbo builds it before \`test\`)`);
  }
}

export interface ReceiveOptions {
  updatesDir: string;
  keyrings: readonly string[];
  stdin: StreamSource;
  /** Extra flags, e.g. ['--max-files', '2']. */
  flags?: readonly string[];
  /** Seconds; the receiver's own deadline for the whole stream. */
  timeout?: number;
  guardMs?: number;
  /** Extra environment, e.g. UPDATES_MAX_FILES. */
  env?: Record<string, string>;
}

function keyringFlags(keyrings: readonly string[]): string[] {
  return keyrings.flatMap((k) => ['--keyring', k]);
}

/** `dom0-receiver receive` as a real process, stream on stdin. */
export async function receive(options: ReceiveOptions): Promise<ProcessResult> {
  const args = [
    RECEIVER_BUNDLE,
    'receive',
    '--updates-dir',
    options.updatesDir,
    ...keyringFlags(options.keyrings),
    '--timeout',
    String(options.timeout ?? 10),
    ...(options.flags ?? []),
  ];
  // A local call by dom0 itself: no qrexec variables, so no sender check.
  const env: Record<string, string> = { ...options.env };
  return runProcess(process.execPath, args, {
    stdin: options.stdin,
    env,
    ...(options.guardMs === undefined ? {} : { guardMs: options.guardMs }),
  });
}

/** `dom0-receiver verify` over files on disk: one line per file. */
export async function verifyFiles(keyrings: readonly string[], files: readonly string[]): Promise<ProcessResult> {
  return runProcess(process.execPath, [RECEIVER_BUNDLE, 'verify', ...keyringFlags(keyrings), ...files]);
}

export interface VerifyLine {
  file: string;
  verdict: 'OK' | 'REJECTED';
  /** The code for REJECTED, the NEVRA for OK. */
  detail: string;
  line: string;
}

/** Splits verify's stdout into one verdict per file (files are our own temp paths, without ': '). */
export function parseVerifyOutput(stdout: Uint8Array): Map<string, VerifyLine> {
  const lines = new TextDecoder().decode(stdout).split('\n').filter((l) => l !== '');
  const out = new Map<string, VerifyLine>();
  for (const line of lines) {
    const match = /^(.*?): (OK|REJECTED) (\S+)/.exec(line);
    if (match === null) continue;
    const [, file, verdict, detail] = match;
    if (file === undefined || detail === undefined) continue;
    out.set(file, { file, verdict: verdict === 'OK' ? 'OK' : 'REJECTED', detail, line });
  }
  return out;
}
