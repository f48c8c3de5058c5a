// The main job on a local default: a whole dom0 update cycle on this machine, with no Qubes and
// no internet. `--tamper` serves a tampered package instead and shows dom0 refusing it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sanitizeForTerminal } from '@dom0-updates/protocol';
import { createScenario, type Scenario } from './scenario.ts';
import { makeTamperedRepo, type TamperedRepo } from './tampered-repo.ts';
import { buildFixtures } from '@dom0-updates/fixtures';
import { tmpdir } from 'node:os';

const tamper = process.argv.includes('--tamper');
const unknown = process.argv.slice(2).filter((a) => a !== '--tamper');
if (unknown.length > 0) {
  process.stderr.write('usage: demo [--tamper]\n');
  process.exit(2);
}

const say = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const step = (text: string): void => {
  say(`\n==> ${text}`);
};

interface ResultRecord {
  status?: string;
  packages?: { file?: string; nevra?: string; sha256?: string; signer?: { fingerprint?: string } | string }[];
  error?: { code?: string; member?: string; message?: string };
}

async function readResult(s: Scenario): Promise<ResultRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(s.updatesDir, 'result.json'), 'utf8')) as ResultRecord;
  } catch {
    return undefined;
  }
}

function keyName(s: Scenario, fingerprint: string): string {
  const key = Object.values(s.fixtures.keys).find((k) => k.fingerprint === fingerprint.toUpperCase());
  return key ? `${key.id} (${key.algorithm}, ${fingerprint})` : fingerprint;
}

async function cycle(s: Scenario, title: string): Promise<number> {
  step(title);
  const result = await s.run(['-y'], { onOutput: (line) => say(`   | ${sanitizeForTerminal(line)}`) });
  say(`   dom0-update exited with ${result.exitCode}`);
  return result.exitCode;
}

async function main(): Promise<number> {
  step('Building the signed fixture packages (cached after the first run)');
  const fixtures = await buildFixtures();
  const dir = join(tmpdir(), `dom0-updates-demo-${String(process.pid)}`);
  const tampered = tamper ? await makeTamperedRepo(fixtures, join(dir, 'hostile-mirror', 'repo')) : undefined;
  const scenario = await createScenario({ dir, ...(tampered ? { serve: () => tampered.dir } : {}) });
  try {
    if (scenario.isolation.mode === 'netns') {
      say('    isolation: dom0 (dom0-update, the receiver, dnf install) runs in a network namespace with');
      say('    loopback only; the UpdateVM agent and the mirror run in a namespace of their own.');
    } else {
      say(`    isolation: none (${scenario.isolation.reason}); every side runs as an ordinary process.`);
    }
    say(`    scratch machine: ${scenario.dir}`);
    say(`    mirror (reachable by the UpdateVM only): ${scenario.mirror.url}`);
    say(`    dom0 has: ${(await scenario.installed()).join(', ')}`);

    if (tampered) return await tamperRun(scenario, tampered);

    const before = await scenario.installed();
    const first = await cycle(scenario, 'First run: dom0-update -y (expect an upgrade to 2.0)');
    const record = await readResult(scenario);
    step('What dom0 verified');
    for (const p of record?.packages ?? []) {
      const fp = typeof p.signer === 'string' ? p.signer : (p.signer?.fingerprint ?? '?');
      say(`    ${sanitizeForTerminal(p.nevra ?? p.file ?? '?')}  signed by ${keyName(scenario, fp)}`);
    }
    const after = await scenario.installed();
    step('What changed in dom0');
    for (const n of after.filter((x) => !before.includes(x))) say(`    + ${n}`);
    for (const n of before.filter((x) => !after.includes(x))) say(`    - ${n}`);
    const second = await cycle(scenario, 'Second run: dom0-update -y (expect nothing to update)');
    const unchanged = JSON.stringify(await scenario.installed()) === JSON.stringify(after);
    const upgraded = after.some((n) => n.startsWith('dom0-hello-2.0'));
    step(first === 0 && second === 0 && upgraded && unchanged ? 'Demo finished: dom0 was updated, then found nothing to do.' : 'Demo FAILED: see the output above.');
    return first === 0 && second === 0 && upgraded && unchanged ? 0 : 1;
  } finally {
    await scenario.close();
  }
}

async function tamperRun(scenario: Scenario, tampered: TamperedRepo): Promise<number> {
  say(`    the mirror serves ${tampered.victim.fileName} with one payload byte changed (metadata regenerated to match)`);
  const before = await scenario.installed();
  const code = await cycle(scenario, 'dom0-update -y against the hostile mirror (expect a rejection)');
  const record = await readResult(scenario);
  step('dom0 said');
  if (record?.error) {
    say(`    rejected ${sanitizeForTerminal(record.error.member ?? '?')}: ${sanitizeForTerminal(record.error.code ?? '?')}`);
    say(`    ${sanitizeForTerminal(record.error.message ?? '')}`);
  }
  const same = JSON.stringify(await scenario.installed()) === JSON.stringify(before);
  say(same ? '    nothing was installed: dom0 is unchanged' : '    dom0 CHANGED: this is a failure');
  const ok = code !== 0 && same && record?.status === 'rejected';
  step(ok ? 'Tamper demo finished: dom0 refused the tampered package.' : 'Tamper demo FAILED: see above.');
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`demo: ${sanitizeForTerminal(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`);
    process.exit(1);
  },
);
