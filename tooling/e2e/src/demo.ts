// The main job on a local default: a whole dom0 update cycle on this machine, with no Qubes and
// no internet. `--tamper` serves a tampered package instead and shows dom0 refusing it.
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sanitizeForTerminal } from '@dom0-updates/protocol';
import { createScenario, removeScenario, type Scenario } from './scenario.ts';
import { buildFixtures } from '@dom0-updates/fixtures';
import { tmpdir } from 'node:os';
import { onInterrupt, type InterruptSignal } from './interrupt.ts';
import { ownNamespaces, processesInOwnNamespaces, removeOwnNamespaces } from './isolation.ts';
import { descendantsOf, stopAll } from './process-tree.ts';

const tamper = process.argv.includes('--tamper');
const keep = process.argv.includes('--keep');
const unknown = process.argv.slice(2).filter((a) => a !== '--tamper' && a !== '--keep');
if (unknown.length > 0) {
  process.stderr.write('usage: demo [--tamper] [--keep]\n');
  process.exit(2);
}

const dir = join(tmpdir(), `dom0-updates-demo-${String(process.pid)}`);
let current: Scenario | undefined;

// Ctrl-C, kill or a closed terminal: stop everything this demo started, delete its namespaces and
// (without --keep) its scratch machine, whatever step it was at.
const interrupt = onInterrupt(async (signal: InterruptSignal) => {
  process.stderr.write(`\ndemo: interrupted by ${signal}; cleaning up\n`);
  // Everything this demo started, and whatever runs in its namespaces (dom0-update starts the
  // agent and the receiver in process groups of their own, and they may outlive it).
  const before = await ownNamespaces();
  const stopped = await stopAll(async () => [...(await descendantsOf(process.pid)), ...(await processesInOwnNamespaces())]);
  await current?.close();
  await removeOwnNamespaces();
  const left = await ownNamespaces();
  const deleted = before.filter((ns) => !left.includes(ns));
  const done = [`stopped ${String(stopped)} process(es)`];
  if (deleted.length > 0) done.push(`deleted network namespaces ${deleted.join(', ')}`);
  if (left.length > 0) done.push(`COULD NOT delete network namespaces ${left.join(', ')}`);
  if (!existsSync(dir)) {
    // nothing was made yet
  } else if (keep) {
    done.push(await keptNote());
  } else {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    done.push(`removed ${dir}`);
  }
  process.stderr.write(`demo: interrupted: ${done.join('; ')}\n`);
});

async function keptNote(): Promise<string> {
  if (current === undefined) return `kept ${dir}`;
  const scenario = current;
  const kept =
    scenario.isolation.mode === 'netns'
      ? `kept ${dir}. Its network namespaces are gone, so dom0-update.conf no longer runs as is; the rerun script below uses dom0-update.rerun.conf`
      : `kept ${dir}`;
  // the scratch root keeps its rpmdb where dom0 does, which Debian's rpm does not look for by default
  const rpm = `rpm --root ${scenario.dom0.root} --dbpath /var/lib/rpm`;
  const v1 = scenario.fixtures.packages.v1;
  const installed = await scenario.installed().catch(() => [] as string[]);
  const moved = installed.some((nevra) => !v1.some((p) => p.nevra === nevra));
  return [
    kept,
    `    what dom0 has:  ${rpm} -qa`,
    existsSync(join(scenario.updatesDir, 'repo'))
      ? `    published repo: ${join(scenario.updatesDir, 'repo')} (result record: ${join(scenario.updatesDir, 'result.json')})`
      : `    nothing was published (result record: ${join(scenario.updatesDir, 'result.json')})`,
    // what a reader needs to run the receiver's `verify` on the kept packages by hand
    `    pinned keys:    ${scenario.dom0.keyPaths.join(' ')}`,
    `    configuration:  ${scenario.configFile} (as the demo ran it), ${scenario.rerunConfigFile} (for rerun)`,
    tamper
      ? `    run it again:   ${scenario.rerunFile} -y  (the same compromised UpdateVM: dom0 refuses its batch again; no namespaces; arguments go to dom0-update)`
      : `    run it again:   ${scenario.rerunFile} -y  (a new mirror on 127.0.0.1, no namespaces; arguments go to dom0-update)`,
    // Debian's rpm warns that it "should not be used directly": harmless for this scratch root
    // --replacepkgs: after a run cut short, some may still be at 1.0
    ...(moved ? [`    back to 1.0:    ${rpm} -Uvh --oldpackage --replacepkgs ${v1.map((p) => p.path).join(' ')}`] : []),
  ].join('\n');
}

// A reader that went away (`./run.sh demo | head`) ends the output, not the run: the cycle goes on
// and cleans up after itself, as an interrupted one does.
let readerGone = false;
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  readerGone = true;
});

const say = (text: string): void => {
  // Once interrupted, the rest of the run is being torn down: its output would only mislead.
  if (interrupt.signal === undefined && !readerGone) process.stdout.write(`${text}\n`);
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
  const created = await createScenario({ dir, ...(tamper ? { hostile: 'tampered-payload' } : {}) });
  current = created;
  return await demo(created).finally(async () => {
    if (interrupt.signal !== undefined) return; // the interrupt handler cleans up
    if (keep) {
      await created.close();
      say(`\n    ${await keptNote()}`);
    } else {
      await removeScenario(created);
    }
  });
}

async function demo(scenario: Scenario): Promise<number> {
  const { sweep } = scenario.isolation;
  if (sweep.removed.length > 0) say(`    removed network namespaces left by an earlier run that is gone: ${sweep.removed.join(', ')}`);
  if (sweep.leftAlone.length > 0) {
    say(`    left alone: network namespaces ${sweep.leftAlone.join(', ')} (their names do not show whether`);
    say('    the run that made them is over; if no demo or test is running, `ip netns del NAME` removes one)');
  }
  if (scenario.isolation.mode === 'netns') {
    say('    isolation: dom0 (dom0-update, the receiver, dnf install) runs in a network namespace with');
    say('    loopback only; the UpdateVM agent and the mirror run in a namespace of their own.');
  } else {
    say(`    isolation: none (${scenario.isolation.reason}); every side runs as an ordinary process.`);
  }
  say(`    scratch machine: ${scenario.dir}${keep ? '' : ' (removed at the end; --keep keeps it)'}`);
  say(`    mirror${scenario.isolation.mode === 'netns' ? ' (reachable by the UpdateVM only)' : ''}: ${scenario.mirror.url}`);
  say(`    dom0 has: ${(await scenario.installed()).join(', ')}`);

  if (tamper) return await tamperRun(scenario);

  const before = await scenario.installed();
  const first = await cycle(scenario, 'First run: dom0-update -y (expect an upgrade to 2.0)');
  if (first !== 0) {
    // nothing to show and nothing a second run would add
    step('Demo FAILED: the first dom0-update failed; its output above says why.');
    return 1;
  }
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
  step(second === 0 && upgraded && unchanged ? 'Demo finished: dom0 was updated, then found nothing to do.' : 'Demo FAILED: see the output above.');
  return second === 0 && upgraded && unchanged ? 0 : 1;
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
  (code) => {
    if (interrupt.signal === undefined) process.exit(code);
  },
  (error: unknown) => {
    // What an interrupt breaks midway fails here; the interrupt handler owns the exit.
    if (interrupt.signal !== undefined) return;
    process.stderr.write(`demo: ${sanitizeForTerminal(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`);
    process.exit(1);
  },
);
