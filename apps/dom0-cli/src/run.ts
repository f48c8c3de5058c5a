/**
 * One dom0-update run: lock, state sync, agent, result record, install, report.
 * Decisions rest on dom0's own data only: the receiver's result record and dom0's rpm database.
 */
import { existsSync, rmSync } from 'node:fs';
import { machine } from 'node:os';
import { basename, join } from 'node:path';
import { writeCachedRepoDir } from './cached-repo.ts';
import { emptyCachedRepo } from './cached-repo-clean.ts';
import { writeDnfHome } from './dnf-home.ts';
import { dom0PackageSpecs, nameTogetherHint, pinPublishedRepo, readCachedRepo, withheldButInstalled, type NewArchBuild, type ObsoletingBuild, type OlderBuild, type RenamingBuild, type UnpinnedBuild } from './withheld.ts';
import { offeredUpdates, planCachedRepo } from './cache-plan.ts';
import { configFileOf, loadConfig, refuseReceiverOverrides, type Config } from './config.ts';
import { dnfIsDnf5, dom0DnfCleanArgs, dom0DnfInstallArgs, runDom0Dnf, type Dom0DnfRequest } from './dom0-dnf.ts';
import { AgentError, CliError, ConfigError, EXIT, InstallError, InstallUnansweredError, InterruptedError, ReceiverError, RejectedError, TransportError } from './errors.ts';
import { interruptedError, watchSignals, type Interrupt } from './interrupt.ts';
import { diffInstalled, displayEvr, listInstalled, type InstalledPackage } from './installed.ts';
import { duplicatesWarning, findDuplicates, groupsOfTwoOrMore } from './duplicates.ts';
import { reportInstallOutcome } from './install-outcome.ts';
import { dom0Exclusions, exclusionOf } from './exclusions.ts';
import { checkKeyring } from './keyring-check.ts';
import { checkRpmCanImport } from './keyring-rpm-import.ts';
import { checkUpdatesDir } from './updates-dir-check.ts';
import { checkTempDir } from './temp-dir-check.ts';
import { snapshotPublishedRepo } from './repo-snapshot.ts';
import { removeDeadRunsTempDirs } from './run-temp-dirs.ts';
import { acquireLock } from './lock.ts';
import { parseArgs, type RunOptions } from './options.ts';
import { changeInWords, Reporter, processSink, type OutputMode, type PackageChange, type Sink } from './reporter.ts';
import type { UpdateRequest } from '@dom0-updates/protocol';
import { buildRequest } from './request.ts';
import { readResultRecord, type ResultRecord, type VerifiedBuild } from './result-record.ts';
import { encodeState } from './state-sync.ts';
import { isStorageFailure, limitHint } from './limit-hint.ts';
import { collectStateFiles, requireRpmdb } from './state-files.ts';
import { runAgent, type AgentResult } from './agent-process.ts';
import type { ReceiverOutcome } from './receiver-link.ts';
import { agentRun, checkCommandScripts, receiverArgv } from './transport.ts';
import { findUpdateVm } from './updatevm.ts';
import { USAGE, VERSION } from './usage.ts';

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, sink: Sink = processSink): Promise<number> {
  let command;
  try {
    command = parseArgs(argv);
  } catch (error) {
    if (error instanceof CliError) {
      sink.err(`dom0-update: ${error.message} [${error.code}]`);
      sink.err('Try "dom0-update --help".');
      return error.exitCode;
    }
    throw error;
  }
  if (command.kind === 'help') {
    sink.out(USAGE.trimEnd());
    return EXIT.ok;
  }
  if (command.kind === 'version') {
    sink.out(`dom0-update ${VERSION}`);
    return EXIT.ok;
  }
  const options = command.options;
  const mode: OutputMode = options.jsonProgress ? 'json' : options.silent ? 'silent' : 'human';
  let reporter = new Reporter(mode, sink);
  const interrupt = watchSignals();
  try {
    const config = loadConfig(options.configFile, env, options.overrides);
    if (!options.checkOnly && config.transport === 'qrexec') refuseReceiverOverrides(env, options.overrides);
    if (!options.checkOnly && config.keyring.length === 0) {
      const file = configFileOf(options.configFile, env);
      const noFile = file.explicit || existsSync(file.path) ? '' : ` (there is no configuration file at ${file.path}; deploy/README.md shows how to make one)`;
      throw new ConfigError('CONFIG_NO_KEYRING', `no KEYRING is configured: dom0 needs the pinned keys to verify packages${noFile}`);
    }
    // what the agent is asked, validated as the agent would before anything is locked or read
    const request = buildRequest(options, config.releasever);
    // before the first rpm query, which would create a database where none is
    requireRpmdb(config);
    let pinnedKeyIds: ReadonlySet<string> = new Set();
    // before the UpdateVM downloads anything: a bad key or updates dir would only fail the receiver later
    if (!options.checkOnly) {
      pinnedKeyIds = await checkKeyring(config.keyring);
      // only an install needs dom0's rpm to take the keys
      if (!options.downloadOnly) {
        checkTempDir();
        await checkRpmCanImport(config.keyring, config.dom0Root, config.rpmdbPath);
      }
      checkUpdatesDir(config.updatesDir, config.transport === 'local');
    }
    reporter.stage('lock', 'Taking the dom0-update lock...');
    const lock = await acquireLock(config.lockFile);
    try {
      const updateVm = await findUpdateVm(config);
      interrupt.throwIfInterrupted();
      checkCommandScripts(config, !options.checkOnly && (config.transport === 'local' || options.clean));
      reporter = reporter.withUpdateVm(updateVm);
      const run: Run = { config, options, request, updateVm, reporter, interrupt, pinnedKeyIds };
      return options.checkOnly ? await checkOnly(run) : await update(run);
    } finally {
      const left = lock.release();
      if (left !== undefined) reporter.warning(left);
    }
  } catch (caught) {
    // Whatever failed after a signal (a query whose rpm the terminal's Ctrl-C also hit) failed because of it.
    // Not a withheld build that got in: that was found after dnf ended, and must be said as such.
    const decidedAfterDnf = caught instanceof InstallError && caught.code === 'INSTALL_WITHHELD_INSTALLED';
    const error = interrupt.signal !== undefined && !(caught instanceof InterruptedError) && !decidedAfterDnf ? interruptedError(interrupt.signal) : caught;
    if (error instanceof CliError) {
      reporter.error(error.code, error.message);
      // a bad flag value (found while the configuration is resolved) is a usage error too
      if (error.exitCode === EXIT.usage && mode !== 'json') sink.err('Try "dom0-update --help".');
      reporter.done('error', error.exitCode, '');
      return error.exitCode;
    }
    reporter.error('INTERNAL', `unexpected failure: ${error instanceof Error ? error.message : String(error)}`);
    reporter.done('error', EXIT.failure, '');
    return EXIT.failure;
  } finally {
    interrupt.dispose();
  }
}

/** Where the agent runs, as progress lines name it: the UpdateVM, or the local agent. */
function agentPlace(run: Run): string {
  return run.config.transport === 'local' ? 'the local agent' : run.updateVm;
}

/** What every step of one run needs. */
interface Run {
  readonly config: Config;
  readonly options: RunOptions;
  readonly updateVm: string;
  readonly reporter: Reporter;
  readonly interrupt: Interrupt;
  readonly request: UpdateRequest;
  /** Key IDs of the keys KEYRING pins now (empty for --check-only, which installs nothing). */
  readonly pinnedKeyIds: ReadonlySet<string>;
}

async function checkOnly(run: Run): Promise<number> {
  const { reporter, config } = run;
  // the daily check is where a doubled package is seen when nobody runs an update; a check does
  // not need dom0's package list otherwise, so one rpm cannot give is no reason to fail it
  const installed = await listInstalled(config.dom0Root, config.rpmdbPath).catch(() => undefined);
  if (installed !== undefined) await warnDuplicates(run, installed);
  reporter.stage('sync', `Sending dom0's package state to ${agentPlace(run)}...`);
  let exitCode: number;
  try {
    ({ exitCode } = await startAgent(run));
  } catch (error) {
    // an agent killed, timed out or not started answered nothing: said as plainly as a failed check
    if (!(error instanceof TransportError || error instanceof AgentError)) throw error;
    throw new (error instanceof TransportError ? TransportError : AgentError)(error.code, `the check for updates failed: it is NOT known whether updates are available: ${error.message}`, error.exitCode);
  }
  if (exitCode === 0) {
    // the UpdateVM's "none" cannot hide what dom0 already verified and holds (a freeze it could tell)
    const cached = await cachedUpdatesForCheck(run, installed);
    if (cached !== undefined && cached.length > 0) {
      reporter.done(
        'updates_available',
        EXIT.updatesAvailable,
        `Updates are available: the UpdateVM reports none, but dom0's cached repository holds ${String(cached.length)} verified update(s) from earlier runs that are not installed (${nevrasShown(cached)}); a run without --check-only installs them.`,
      );
      return EXIT.updatesAvailable;
    }
    const cacheNote = cached === undefined ? '' : ", and dom0's cached repository holds nothing newer than what is installed";
    reporter.done('no_updates', EXIT.ok, `No updates available, as the UpdateVM reports${cacheNote}.`);
    return EXIT.ok;
  }
  if (exitCode === 100) {
    reporter.done('updates_available', EXIT.updatesAvailable, 'Updates are available, as the UpdateVM reports (dom0 verifies them when they are downloaded).');
    return EXIT.updatesAvailable;
  }
  throw agentFailure(exitCode, 'the check for updates failed: it is NOT known whether updates are available', reporter.agentError, run.config.transport);
}

/**
 * The verified updates of installed packages that dom0's cached repository holds from earlier runs
 * and an install would offer dnf (the same plan, so nothing withheld is counted). Undefined without
 * KEYRING (nothing could be installed, and which signers are pinned is unknown). Anything that
 * cannot be read fails the check: "no updates" is never said unless it is known, so an UpdateVM
 * that publishes twice during the query (the receiver prunes the generation read) only fails it.
 */
async function cachedUpdatesForCheck(run: Run, installedKnown: readonly InstalledPackage[] | undefined): Promise<VerifiedBuild[] | undefined> {
  const { config, options, interrupt } = run;
  if (config.keyring.length === 0) return undefined;
  try {
    const pinnedKeyIds = await checkKeyring(config.keyring);
    const installed = installedKnown ?? (await listInstalled(config.dom0Root, config.rpmdbPath));
    const exclusions = dom0Exclusions(options, config.dnfConf);
    for (let attempt = 1; ; attempt++) {
      // read in place, not through a snapshot: a check writes nothing in the updates dir
      const generation = pinPublishedRepo(config.updatesDir);
      if (generation === undefined) return [];
      try {
        const plan = planCachedRepo(await readCachedRepo(generation), installed, options, pinnedKeyIds, machine(), exclusions);
        interrupt.throwIfInterrupted();
        warnUnpinned(run.reporter, plan.unpinned);
        return offeredUpdates(plan, installed);
      } catch (error) {
        // pruned under the query by publications meanwhile: the link names a newer generation now
        if (attempt < CHECK_READ_ATTEMPTS && interrupt.signal === undefined && pinPublishedRepo(config.updatesDir) !== generation) continue;
        throw error;
      }
    }
  } catch (error) {
    // a Ctrl-C also hits the rpm query: the signal is the answer, not the query's failure
    interrupt.throwIfInterrupted();
    if (!(error instanceof CliError) || error instanceof InterruptedError) throw error;
    throw new InstallError(
      error.code,
      `the check for updates failed: it is NOT known whether updates are available: the UpdateVM reports none, but dom0's cached repository, which may hold updates from earlier runs, could not be read: ${error.message}`,
    );
  }
}

/** How many generations a check reads before a repository that keeps changing fails it. */
const CHECK_READ_ATTEMPTS = 3;

/** The first ten NEVRAs, and an ellipsis for more. */
function nevrasShown(builds: readonly VerifiedBuild[]): string {
  return builds.slice(0, 10).map((b) => b.nevra).join(', ') + (builds.length > 10 ? ', ...' : '');
}

async function update(run: Run): Promise<number> {
  const { config, options, reporter, interrupt } = run;
  if (options.clean) {
    reporter.info('Emptying the cached repository (--clean)...');
    await emptyCachedRepo(config, (line) => reporter.receiverLine(line), interrupt);
  }
  const before = readResultRecord(config.updatesDir);
  const publishedBefore = pinPublishedRepo(config.updatesDir);
  const installedBefore = await listInstalled(config.dom0Root, config.rpmdbPath);
  await warnDuplicates(run, installedBefore);
  reporter.stage('sync', `Sending dom0's package state to ${agentPlace(run)}...`);
  let exitCode: number;
  let receiver: ReceiverOutcome = { kind: 'not-started' };
  let agentError: CliError | undefined;
  try {
    ({ exitCode, receiver } = await startAgent(run));
  } catch (error) {
    // A stalled or broken agent may still have reached the receiver: its record says more.
    if (!(error instanceof AgentError || error instanceof TransportError)) throw error;
    agentError = error;
    exitCode = error.exitCode;
  }

  reporter.stage('verify', 'Reading the receiver result...');
  const after = readResultRecord(config.updatesDir);
  const batch = isNewBatch(before, after) ? after : undefined;
  const between = batchesBetween(before, batch);
  if (between !== undefined) reporter.warning(between);
  if (batch?.status === 'rejected') {
    // dom0-update stopped the run itself (its deadline, an output flood): a RECEIVE_INTERRUPTED
    // record is the receiver's answer to that signal, not a verdict on the batch
    const stoppedByUs = agentError?.code === 'AGENT_TIMEOUT' || agentError?.code === 'AGENT_OUTPUT_FLOOD';
    if (agentError !== undefined && stoppedByUs && batch.error.code === 'RECEIVE_INTERRUPTED') throw agentError;
    const { code, member, message } = batch.error;
    reporter.rejected(member, code, message);
    // The reason is on the line above (reporter.rejected); this line is the verdict, and what to do
    // when the limit was dom0's own.
    const hint = limitHint(code, config, member) ?? cutShortBy(code, agentError);
    const what = isStorageFailure(code) ? 'could not store' : 'rejected';
    throw new RejectedError('REJECTED', `dom0 ${what} ${member ?? 'the batch'} (${code}) and installed nothing${hint === undefined ? '' : `: ${hint}`}`);
  }
  const failure =
    agentError ??
    receiverProblem(receiver, batch, config, reporter.receiverVerdict) ??
    unrecordedPublication(batch, publishedBefore, pinPublishedRepo(config.updatesDir)) ??
    (exitCode !== 0 ? agentFailure(exitCode, 'downloading the updates failed', reporter.agentError, config.transport) : undefined);
  if (failure !== undefined) {
    // the record is dom0's own: what it verified is worth saying even though the run failed
    if (batch !== undefined && batch.packages.length > 0) {
      reporter.warning(`dom0 received and verified ${batch.packages.length} package(s) before this failure; they stay in the cached repository and were not installed`);
    }
    throw failure;
  }

  if (batch === undefined) {
    if (options.action === 'upgrade') {
      // updates verified by an earlier run (--downloadonly, a failed install) are still updates
      if (options.downloadOnly || !existsSync(join(config.updatesDir, 'repo'))) {
        reporter.done('no_updates', EXIT.ok, 'No updates: the UpdateVM sent no packages.');
        return EXIT.ok;
      }
      interrupt.throwIfInterrupted();
      return install(run, installedBefore, [], 'no batch');
    }
    if (!existsSync(join(config.updatesDir, 'repo'))) {
      // as dnf says when a named package is installed and nothing newer is offered
      const installedSpecs = dom0PackageSpecs([], installedBefore);
      if (options.action === 'install' && options.packages.every((spec) => installedSpecs.namesOf(spec).size > 0)) {
        reporter.done('no_updates', EXIT.ok, `Nothing to do: ${options.packages.join(' ')} installed, and the UpdateVM sent no newer build.`);
        return EXIT.ok;
      }
      throw new InstallError('NOTHING_RECEIVED', `no packages were received for: ${options.packages.join(' ')}`);
    }
    reporter.info('The UpdateVM sent no packages; trying the cached repository as it is.');
  } else {
    reporter.info(batch.packages.length === 0 ? 'Received an empty batch: no packages.' : `Received and verified ${batch.packages.length} package(s):`);
    for (const pkg of batch.packages) reporter.received(pkg.nevra, pkg.signer);
  }
  if (options.downloadOnly) {
    reporter.done('success', EXIT.ok, 'Packages are verified and cached; not installed (--downloadonly).');
    return EXIT.ok;
  }
  interrupt.throwIfInterrupted();
  // an empty batch tells no more than none: an upgrade is then checked against the cache's
  // updates too, or the UpdateVM could hide a verified update dnf skips by sending an empty archive
  const emptyUpgrade = batch !== undefined && batch.packages.length === 0 && options.action === 'upgrade';
  return install(run, installedBefore, batch?.packages ?? [], emptyUpgrade ? 'empty batch' : undefined);
}

/**
 * Installs from a snapshot of the cached repository. `fromCache`: no batch, or an empty one,
 * arrived for an upgrade; what dnf is checked against is then the cache's updates of installed
 * packages, and without any dnf is not run.
 */
async function install(
  run: Run,
  installedBefore: readonly InstalledPackage[],
  batchPackages: readonly VerifiedBuild[],
  fromCache: 'no batch' | 'empty batch' | undefined,
): Promise<number> {
  const { config, options, reporter, interrupt } = run;
  // what a killed run left in TMPDIR (the snapshot's leftovers go with the snapshot)
  removeDeadRunsTempDirs();
  // One snapshot for both the withheld names and dnf, which no later publication can change or prune.
  const snapshot = snapshotPublishedRepo(config.updatesDir);
  // never the live link with nothing withheld: a run gets here only after something was published
  if (snapshot === undefined) throw new InstallError('CACHED_REPO_QUERY', `there is no published repository at ${join(config.updatesDir, 'repo')}`);
  const repoDir = snapshot.dir;
  let reposDir: string | undefined;
  let home: string | undefined;
  let obsoleting: readonly ObsoletingBuild[] = [];
  let renaming: readonly RenamingBuild[] = [];
  let excluded: readonly string[] = [];
  const exclusions = dom0Exclusions(options, config.dnfConf);
  /** dnf stopped on a signal: its transaction may still have gone through, so the changes are told */
  let interruptedInstall: InterruptedError | undefined;
  /** dnf failed: it may have done part of its transaction (an unpacking error), so the changes are told */
  let failedInstall: InstallError | undefined;
  let withheld: readonly string[] = [];
  let specs = dom0PackageSpecs([], installedBefore);
  let excludedBy = exclusionOf(exclusions, specs);
  let received = batchPackages;
  try {
    const plan = planCachedRepo(await readCachedRepo(repoDir), installedBefore, options, run.pinnedKeyIds, machine(), exclusions);
    ({ specs, withheld, obsoleting, renaming, excluded, excludedBy } = plan);
    const { older, newArch, unpinned, oddArch, foreignArch } = plan;
    if (fromCache !== undefined) {
      const sent = fromCache === 'empty batch' ? 'sent an empty batch' : 'sent no packages';
      // what dnf is offered (the builds and names withheld above are not), and what the user wants of it
      received = offeredUpdates(plan, installedBefore);
      if (received.length === 0) {
        // a build withheld for its signer is still said (below, for a run that goes on to dnf)
        warnUnpinned(reporter, unpinned);
        const withheldNote = unpinned.length > 0 ? ' that dom0 offers to dnf' : '';
        reporter.done('no_updates', EXIT.ok, `No updates: the UpdateVM ${sent}, and dom0's cached repository holds nothing newer than what is installed${withheldNote}.`);
        return EXIT.ok;
      }
      reporter.info(`The UpdateVM ${sent}; dom0's cached repository holds ${String(received.length)} verified update(s) from earlier runs: ${nevrasShown(received)}`);
    }
    reposDir = writeCachedRepoDir(config.updatesDir, config.keyring, repoDir, excluded);
    home = writeDnfHome(config.rpmdbPath);
    const request: Dom0DnfRequest = {
      reposDir,
      assumeYes: options.assumeYes,
      extraOptions: options.dom0DnfOptions,
      mode: reporter.mode,
      dnf5: dnfIsDnf5(),
    };
    const dnf = {
      mode: reporter.mode,
      assumeYes: options.assumeYes,
      home,
      interrupt,
      onSignalAgain: (signal: string) => {
        reporter.warning(`another signal (${signal}): dom0's dnf is never killed midway through a transaction; waiting for it to stop`);
      },
    };
    if (options.clean) {
      await runDom0Dnf(dom0DnfCleanArgs(config, request), { ...dnf, what: 'clean all', assumeYes: true });
    }
    reporter.stage('install', `Installing from the cached repository (${options.action})...`);
    if (withheld.length > 0) {
      reporter.info(`Not offered to dnf (in the cached repository, but neither installed nor requested): ${withheld.join(', ')}`);
    }
    for (const build of obsoleting) {
      reporter.info(`Not offered to dnf: ${build.spec}, whose Obsoletes would replace ${build.replaces.join(', ')}`);
    }
    if (newArch.length > 0) {
      reporter.info(
        `Not offered to dnf (a new arch of an installed name, not requested: name it with its arch to install it): ${newArch.map((build) => `${build.spec} (installed: ${build.installedArches.join(', ')})`).join(', ')}`,
      );
    }
    if (oddArch.length > 0) {
      reporter.info(`Not offered to dnf (an arch rpm does not know): ${oddArch.map((build) => build.spec).join(', ')}`);
    }
    if (foreignArch.length > 0) {
      reporter.info(`Not offered to dnf (an arch this machine, ${machine()}, does not run): ${foreignArch.map((build) => build.spec).join(', ')}`);
    }
    // older builds are not announced: every upgrade leaves some in the cache; a received one is reported below
    warnUnpinned(reporter, unpinned);
    try {
      await runDom0Dnf(dom0DnfInstallArgs(config, request, options.action, options.packages), {
        ...dnf,
        what: options.action,
      });
    } catch (error) {
      if (error instanceof InterruptedError) interruptedInstall = error;
      // dnf could not ask: the advice is -y, which shows a resolution failure with its hints if there is one
      else if (error instanceof InstallUnansweredError) failedInstall = withCacheNote(error);
      else if (error instanceof InstallError) failedInstall = withWithheldHints(error, options.packages, withheld, obsoleting, older, newArch);
      else throw error;
    }
  } finally {
    for (const dir of [reposDir, home]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    snapshot.remove();
  }
  reporter.stage('check', 'Checking what changed...');
  let installedAfter: InstalledPackage[];
  try {
    installedAfter = await listInstalled(config.dom0Root, config.rpmdbPath);
  } catch (error) {
    // dnf's own failure (or the signal) stays the verdict
    if ((interruptedInstall === undefined && failedInstall === undefined) || !(error instanceof CliError)) throw error;
    reporter.warning(`the changes dnf made could not be read: ${error.message}`);
    if (interruptedInstall !== undefined) throw interruptedInstall;
    if (failedInstall !== undefined) throw failedInstall;
    throw error;
  }
  // a dnf killed midway (or a scriptlet's failure) can leave both versions; said at once, not only by the next run
  await warnDuplicates(run, installedAfter, new Set(groupsOfTwoOrMore(installedBefore).keys()));
  const slipped = withheldButInstalled(installedBefore, installedAfter, excluded);
  if (slipped.length > 0 || interruptedInstall !== undefined || failedInstall !== undefined) {
    // the changes are told whatever ended the run (reportInstallOutcome tells them otherwise)
    const changes = diffInstalled(installedBefore, installedAfter);
    for (const change of changes) reporter.change(change);
    // first: a withheld build that got in must be said whatever stopped dnf
    if (slipped.length > 0) {
      const names = slipped.map((p) => `${p.name}-${displayEvr(p.evr)}.${p.arch}`).join(', ');
      throw new InstallError('INSTALL_WITHHELD_INSTALLED', `dom0's dnf installed ${names}, which dom0 withheld from it (changes above); the transaction is done and dom0-update cannot undo it: check these packages (rpm -q, dnf history)`);
    }
    // the changes in the verdict too: after a Ctrl-C a pipe's reader (`| tee`) is gone with the report
    if (interruptedInstall !== undefined) {
      if (changes.length === 0) reporter.info('Nothing changed in dom0 before dnf stopped.');
      else throw new InterruptedError(interruptedInstall.code, `${interruptedInstall.message}; dnf made ${String(changes.length)} change(s) in dom0: ${changesInWords(changes)}`, interruptedInstall.exitCode);
      throw interruptedInstall;
    }
    if (failedInstall !== undefined) {
      if (changes.length === 0) throw failedInstall;
      throw new InstallError(failedInstall.code, `${failedInstall.message}; before it failed, dnf made ${String(changes.length)} change(s) in dom0 (${changesInWords(changes)}): check them (rpm -q, dnf history)`);
    }
  }
  return reportInstallOutcome(
    { options, reporter, rpmdbPath: config.rpmdbPath, dom0Root: config.dom0Root },
    { installedBefore, installedAfter, received, fromCache: fromCache !== undefined, obsoleting, withheld, renaming, specs, excludedBy },
  );
}

/** Warns of packages installed twice that dnf keeps once (duplicates.ts), but for the `known` keys. */
async function warnDuplicates({ config, reporter }: Run, installed: readonly InstalledPackage[], known?: ReadonlySet<string>): Promise<void> {
  const found = await findDuplicates(installed, config.dom0Root, config.rpmdbPath, config.dnfConf, known);
  if (found.packages.length > 0) reporter.warning(duplicatesWarning(found));
}

/** Changes as one clause for an error line: the first five, and how many more. */
function changesInWords(changes: readonly PackageChange[]): string {
  return changes.slice(0, 5).map(changeInWords).join(', ') + (changes.length > 5 ? `, and ${String(changes.length - 5)} more` : '');
}

function warnUnpinned(reporter: Reporter, unpinned: readonly UnpinnedBuild[]): void {
  if (unpinned.length === 0) return;
  reporter.warning(
    `not offered to dnf: ${String(unpinned.length)} cached build(s) signed by a key KEYRING no longer pins (${unpinned.slice(0, 3).map((b) => `${b.spec} by key ID ${b.keyId}`).join(', ')}${unpinned.length > 3 ? ', ...' : ''})`,
  );
}

function withCacheNote(error: InstallError): InstallError {
  return new InstallError(error.code, `${error.message}. The verified packages stay in dom0's cached repository`);
}

/** A failed dnf step, with what dom0 withheld from it: often why it could not resolve. */
function withWithheldHints(
  error: InstallError,
  requested: readonly string[],
  withheld: readonly string[],
  obsoleting: readonly ObsoletingBuild[],
  older: readonly OlderBuild[],
  newArch: readonly NewArchBuild[],
): InstallError {
  const hint =
    withheld.length === 0
      ? ''
      : `; dom0 withheld ${withheld.join(', ')} (neither installed nor requested): when an update needs one as a new dependency: ${nameTogetherHint(requested)}`;
  const obsoletesHint =
    obsoleting.length === 0 ? '' : `; dom0 withheld ${obsoleting.map((build) => build.spec).join(', ')} for their Obsoletes: name the package to accept that`;
  const olderHint =
    older.length === 0
      ? ''
      : `; dom0 withheld ${String(older.length)} build(s) older than the installed version of their name (a rollback, e.g. ${older.slice(0, 3).map((build) => `${build.spec} < ${build.installed}`).join(', ')}): only --action=downgrade NAME lets one in`;
  const newArchHint =
    newArch.length === 0 ? '' : `; dom0 withheld ${newArch.map((build) => build.spec).join(', ')}, a new arch of an installed name: name it with its arch (NAME.ARCH) to install it`;
  return withCacheNote(new InstallError(error.code, `${error.message}${hint}${obsoletesHint}${olderHint}${newArchHint}`));
}

async function startAgent({ config, options, request, updateVm, reporter, interrupt }: Run): Promise<AgentResult> {
  const { files, linksOut, noKeys } = collectStateFiles(config);
  for (const link of linksOut) reporter.warning(`not sent to the UpdateVM: ${link}, a link to a file outside its directory`);
  if (noKeys) {
    reporter.warning(`no RPM-GPG-KEY-* file in ${config.keysDir} (KEYS_DIR): the UpdateVM's dnf gets no repository key from dom0 (dom0 still verifies every package against KEYRING)`);
  }
  reporter.stage('download', `Running the agent ${config.transport === 'local' ? '(local transport)' : `in ${updateVm}`}...`);
  // Local transport: dom0 starts its own receiver for the agent's stream (never for a check, which
  // sends nothing). With qrexec, dom0's qrexec daemon starts it through qubes.ReceiveUpdates.
  const receiver =
    config.transport === 'local' && !options.checkOnly
      ? { argv: receiverArgv(config), onLine: (line: string) => reporter.receiverLine(line) }
      : undefined;
  return runAgent(agentRun(config, updateVm), {
    timeoutSeconds: config.timeoutSeconds,
    sendState: (stdin) => encodeState(request, files, stdin),
    onLine: (line, shown) => reporter.agentLine(line, shown),
    onDropped: () => reporter.warning('the UpdateVM printed too much; the rest of its output is not shown'),
    receiver,
    interrupt,
    onKillNow: (signal) => {
      reporter.warning(`another signal (${signal}): killing the UpdateVM's agent and dom0's receiver now; the published repository stays whole (its switch is atomic)`);
    },
    onSilence: (quietSeconds, secondsLeft) => {
      reporter.info(`No word from the UpdateVM's agent for ${String(quietSeconds)} s; still waiting (it is stopped at the run's deadline, in ${String(secondsLeft)} s).`);
    },
    onReceiverStillRunning: (secondsLeft, bySignal) => {
      const now = bySignal ? '; signal again to kill it now (the published repository stays whole)' : '';
      reporter.info(`Waiting for dom0's receiver to stop (it may be finishing a publication): up to ${String(secondsLeft)} s more, then it is killed${now}.`);
    },
  });
}

/**
 * A stream that ends early is the sender's fault on its face; when the agent itself failed (killed,
 * crashed) that is the likelier story, and the member named is just where the stream stopped.
 */
function cutShortBy(code: string, agentError: CliError | undefined): string | undefined {
  if (agentError === undefined || (code !== 'TAR_TRUNCATED' && code !== 'TAR_MISSING_END')) return undefined;
  return `the stream stopped there because the UpdateVM's agent failed before it had sent everything (${agentError.message} [${agentError.code}])`;
}

/** A receiver dom0 started but that left no new record failed; what it printed says why. */
function receiverProblem(outcome: ReceiverOutcome, batch: ResultRecord | undefined, config: Config, verdict: string | undefined): CliError | undefined {
  if (outcome.kind === 'spawn-failed') {
    return new ReceiverError('RECEIVER_SPAWN', `cannot start dom0's receiver ${config.receiverCommand.join(' ')}: ${outcome.message}`);
  }
  if (outcome.kind === 'exited' && batch === undefined) {
    const how = outcome.exitCode === null ? `was killed by ${outcome.signal ?? 'a signal'}` : `exited with ${outcome.exitCode}`;
    const why = verdict === undefined ? '' : ` (${verdict})`;
    return new ReceiverError('RECEIVER_FAILED', `dom0's receiver ${how} without recording a result${why}; nothing was installed`);
  }
  return undefined;
}

/**
 * A new generation behind `repo` without a new record: the receiver published a batch but could
 * not write its result (a full disk). Under qrexec the agent still exits 0 on the receiver's
 * "accepted" reply, so without this the run would end as "No updates".
 */
function unrecordedPublication(batch: ResultRecord | undefined, before: string | undefined, after: string | undefined): CliError | undefined {
  if (batch !== undefined || after === undefined || after === before) return undefined;
  return new ReceiverError(
    'RECEIVER_FAILED',
    `dom0's receiver published a new generation (${basename(after)}) without recording a result (see its log: a full disk?); dom0-update cannot tell what arrived, so nothing was installed`,
  );
}

/**
 * An UpdateVM may call qubes.ReceiveUpdates as often as it likes, and each call overwrites the
 * record: when the new record replaced another than the one this run started with, other batches
 * (accepted or rejected) came between, and only the last is shown. Told, not fatal: what dnf
 * installs from is still only verified packages, and withholding a batch is no more than an
 * UpdateVM can do anyway.
 */
function batchesBetween(before: ResultRecord | undefined, batch: ResultRecord | undefined): string | undefined {
  if (batch === undefined || batch.replaces === undefined || batch.replaces === (before?.sequence ?? null)) return undefined;
  const started = before === undefined ? 'no record' : `record ${String(before.sequence)}`;
  const replaced = batch.replaces === null ? 'none' : `record ${String(batch.replaces)}`;
  return `the receiver handled more than one batch during this run (this run started with ${started}; the last batch, record ${String(batch.sequence)}, replaced ${replaced}): only the last is shown here; the receiver's log has the others`;
}

function isNewBatch(before: ResultRecord | undefined, after: ResultRecord | undefined): after is ResultRecord {
  return after !== undefined && (before === undefined || after.sequence > before.sequence);
}

/** qrexec's exit code for a service the called qube does not have (QREXEC_EXIT_SERVICE_NOT_FOUND). */
const EXIT_NOT_FOUND = 127;

function agentFailure(exitCode: number, what: string, agentSaid: string | undefined, transport: Config['transport']): CliError {
  if (exitCode === EXIT.transport) {
    // 125 is the transport's code on either leg: dom0 to the UpdateVM, or the agent's call back to
    // dom0's qubes.ReceiveUpdates (whose own failure the agent sees only as a missing reply)
    const said = agentSaid === undefined ? '' : `; it said: ${agentSaid}`;
    return new TransportError('TRANSPORT_FAILED', `${what}: the transport failed, from dom0 to the UpdateVM or from the agent to dom0's receiver (exit 125)${said}`, EXIT.transport);
  }
  // only the agent's qrexec call to dom0 can be denied: a local agent sends on fd 3, and a 126 there
  // is a shell's "cannot execute", not a policy's verdict
  if (exitCode === EXIT.policyDenied && transport === 'qrexec') {
    return new TransportError('POLICY_DENIED', `${what}: the qrexec policy denied the service call (exit 126)`, EXIT.policyDenied);
  }
  // its lines are on stdout in human mode and on stderr with --json-progress: not "above" in every mode
  const said = agentSaid === undefined ? 'see its output, the lines marked with its name' : `it said: ${agentSaid}`;
  // qrexec's code for a service the qube does not have: no agent ran to say why (the service
  // script says itself when node is missing, and exits 1)
  const missing =
    exitCode === EXIT_NOT_FOUND && transport === 'qrexec'
      ? '; 127 is what qrexec returns when the UpdateVM has no dom0-updates.Download service: install it in its template (deploy/README.md, step 1)'
      : '';
  return new AgentError('AGENT_FAILED', `${what} (the UpdateVM's agent exited with ${exitCode}; ${said}${missing})`);
}
