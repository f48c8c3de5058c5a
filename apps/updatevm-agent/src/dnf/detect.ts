import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { stopOptions, stoppedWithRun, trackChild, type ChildStop } from '../cli/child-stop.ts';
import { DnfError } from '../errors.ts';

/** Which dnf is installed decides the argument order and a few spellings (argv.ts), and how its output reads. */
export interface DnfTool {
  readonly path: string;
  readonly major: 4 | 5;
}

async function findOnPath(name: string, pathVar: string): Promise<string | undefined> {
  for (const dir of pathVar.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next PATH entry
    }
  }
  return undefined;
}

/** dnf5 prints "dnf5 version 5.x"; dnf 4 prints its bare version ("4.14.0") on the first line. */
export function majorFromVersionOutput(output: string): 4 | 5 | undefined {
  const first = output.split('\n', 1)[0]?.trim() ?? '';
  if (/^dnf5\b/i.test(first) || /^5\./.test(first)) return 5;
  if (/^4\./.test(first)) return 4;
  return undefined;
}

/** Finds dnf5 or dnf on PATH and asks it which major version it is, at run time. */
export async function detectDnf(pathVar: string = process.env['PATH'] ?? '', stop?: ChildStop): Promise<DnfTool> {
  const dnf5 = await findOnPath('dnf5', pathVar);
  if (dnf5 !== undefined) return { path: dnf5, major: 5 };
  const dnf = await findOnPath('dnf', pathVar);
  if (dnf === undefined) {
    throw new DnfError(
      'DNF_MISSING',
      'dnf is not installed (neither dnf5 nor dnf is on PATH); install dnf in this UpdateVM',
    );
  }
  const sub = execa(dnf, ['--version'], { reject: false, env: { LC_ALL: 'C.UTF-8' }, timeout: 60_000, ...stopOptions(stop) });
  trackChild(sub, stop);
  const probe = await sub;
  // a Ctrl-C reaches the probe too: the run was stopped, dnf is not at fault
  if (await stoppedWithRun(probe, stop)) throw stop?.signal.reason;
  const major = typeof probe.stdout === 'string' ? majorFromVersionOutput(probe.stdout) : undefined;
  if (probe.exitCode !== 0 || major === undefined) {
    const how = probe.timedOut ? 'no answer within 60 s' : probe.signal !== undefined ? `killed by ${probe.signal}` : `exit ${String(probe.exitCode ?? 'none')}`;
    throw new DnfError('DNF_UNUSABLE', `${dnf} --version did not report dnf 4 or dnf5 (${how})`);
  }
  return { path: dnf, major };
}
