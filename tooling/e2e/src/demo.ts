// The main job on a local default: a whole dom0 update cycle on this machine, with no Qubes and
// no internet. `--tamper` serves a tampered package instead and shows dom0 refusing it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sanitizeForTerminal } from '@dom0-updates/protocol';
import { createScenario, removeScenario, type Scenario } from './scenario.ts';
import { buildFixtures } from '@dom0-updates/fixtures';
import { tmpdir } from 'node:os';

const tamper = process.argv.includes('--tamper');
const keep = process.argv.includes('--keep');
const unknown = process.argv.slice(2).filter((a) => a !== '--tamper' && a !== '--keep');
if (unknown.length > 0) {
  process.stderr.write('usage: demo [--tamper] [--keep]\n');
  process.exit(2);
}

const say = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const step = (text: string): void => {
  say(`\n==> ${text}`);
};

// The receiver's result record (apps/dom0-receiver/README.md), read as untrusted-shaped JSON.
interface ResultRecord {
  status?: string;
  accepted?: { file?: string; nevraString?: string; sha256?: string; signer?: { fingerprint?: string } }[];
  rejection?: { code?: string; member?: string | null; message?: string };
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
  await buildFixtures();
  const dir = join(tmpdir(), `dom0-updates-demo-${String(process.pid)}`);
  const scenario = await createScenario({ dir, ...(tamper ? { hostile: 'tampered-payload' } : {}) });
  try {
    if (scenario.isolation.mode === 'netns') {
      say('    isolation: dom0 (dom0-update, the receiver, dnf install) runs in a network namespace with');
      say('    loopback only; the UpdateVM agent and the mirror run in a namespace of their own.');
    } else {
      say(`    isolation: none (${scenario.isolation.reason}); every side runs as an ordinary process.`);
    }
    say(`    scratch machine: ${scenario.dir}${keep ? '' : ' (removed at the end; --keep keeps it)'}`);
    say(`    mirror (reachable by the UpdateVM only): ${scenario.mirror.url}`);
    say(`    dom0 has: ${(await scenario.installed()).join(', ')}`);

    if (tamper) return await tamperRun(scenario);

    const before = await scenario.installed();
    const first = await cycle(scenario, 'First run: dom0-update -y (expect an upgrade to 2.0)');
    const record = await readResult(scenario);
    step('What dom0 verified');
    for (const p of record?.accepted ?? []) {
      say(`    ${sanitizeForTerminal(p.nevraString ?? p.file ?? '?')}  signed by ${keyName(scenario, p.signer?.fingerprint ?? '?')}`);
      say(`      sha256 ${sanitizeForTerminal(p.sha256 ?? '?')}`);
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
    if (keep) await scenario.close();
    else await removeScenario(scenario);
  }
}

async function tamperRun(scenario: Scenario): Promise<number> {
  const victim = scenario.fixtures.packages.v2.find((p) => p.version === '2.0');
  say(`    the UpdateVM is compromised: it sends ${victim?.fileName ?? 'a package'} with one payload byte changed`);
  say('    (an honest UpdateVM\'s dnf would also catch this; dom0 does not rely on it)');
  const before = await scenario.installed();
  const code = await cycle(scenario, 'dom0-update -y with the compromised UpdateVM (expect a rejection)');
  const record = await readResult(scenario);
  step('dom0 said');
  if (record?.rejection) {
    say(`    rejected ${sanitizeForTerminal(record.rejection.member ?? '?')}: ${sanitizeForTerminal(record.rejection.code ?? '?')}`);
    say(`    ${sanitizeForTerminal(record.rejection.message ?? '')}`);
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
