import type { ProcessResult } from './process.ts';

/** Codes that say "something broke" rather than "this input is bad because ...": a finding. */
export const GENERIC_CODES: readonly string[] = [
  'STAGE_FAILED',
  'STAGE_PROTOCOL',
  'STAGE_IO',
  'STAGE_TIMEOUT',
  'STAGED_FILES_MISMATCH',
  'PUBLISH_FAILED',
  'CREATEREPO_FAILED',
  'RPM_STATE',
  'RPM_IO',
  'INTERNAL',
  'INTERNAL_ERROR',
];

export interface Reply {
  status: string;
  packages: unknown[];
  error?: { code: string; member?: string; message: string };
}

/** Raw terminal-active bytes: C0 controls except newline, DEL, C1 controls, bidi/zero-width format characters. */
export function rawControlProblems(label: string, bytes: Uint8Array): string[] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return [`${label} is not valid UTF-8`];
  }
  const bad = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/u.exec(text);
  const point = bad?.[0].codePointAt(0);
  return point === undefined ? [] : [`${label} holds raw control U+${point.toString(16).padStart(4, '0')}`];
}

export function parseReply(stdout: Uint8Array): Reply | string {
  const text = new TextDecoder().decode(stdout);
  if (!text.endsWith('\n') || text.indexOf('\n') !== text.length - 1) return `stdout is not one line: ${JSON.stringify(text.slice(0, 200))}`;
  try {
    const value = JSON.parse(text) as Reply;
    if (typeof value !== 'object' || value === null || typeof value.status !== 'string') return 'reply has no status';
    return value;
  } catch {
    return `stdout is not JSON: ${JSON.stringify(text.slice(0, 200))}`;
  }
}

export interface Judgement {
  /** The code the receiver gave, if any. */
  code: string | undefined;
  /** Every way the run fell short of a clean, specific rejection; empty when it was one. */
  problems: string[];
}

/** Judges one run that must be a rejection with one of `expected`. */
export function judgeRejection(result: ProcessResult, expected: readonly string[]): Judgement {
  const problems: string[] = [];
  if (result.killedByGuard) problems.push('HANG: the receiver did not finish and was killed by the guard');
  if (result.signal !== null && !result.killedByGuard) problems.push(`CRASH: receiver died of ${result.signal}`);
  if (result.exitCode === 0) problems.push('ACCEPTED: exit 0');
  else if (result.exitCode !== 1 && !result.killedByGuard) problems.push(`exit ${String(result.exitCode)}, expected 1`);
  problems.push(...rawControlProblems('stderr', result.stderr), ...rawControlProblems('stdout', result.stdout));
  const reply = parseReply(result.stdout);
  let code: string | undefined;
  if (typeof reply === 'string') {
    problems.push(reply);
  } else {
    if (reply.status !== 'rejected') problems.push(`reply status ${reply.status}`);
    if (reply.packages.length !== 0) problems.push('rejected reply lists packages');
    code = reply.error?.code;
    if (code === undefined) problems.push('reply has no error code');
    else if (GENERIC_CODES.includes(code)) problems.push(`GENERIC code ${code}: ${reply.error?.message ?? ''}`);
    else if (!expected.includes(code)) problems.push(`code ${code} (${reply.error?.message ?? ''}) not in [${expected.join(', ')}]`);
  }
  if (code !== undefined && !new TextDecoder().decode(result.stderr).includes(code)) problems.push(`stderr does not name ${code}`);
  return { code, problems };
}
