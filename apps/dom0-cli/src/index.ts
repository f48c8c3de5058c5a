export { main } from './run.ts';
export { matchesSpec } from './package-match.ts';
export { listCachedRepoNames, namesToWithhold, pinPublishedRepo } from './withheld.ts';
export { parseArgs, ACTIONS, DOM0_DNF_OPTIONS, SETOPT_KEYS, type Action, type Command, type RunOptions } from './options.ts';
export {
  loadConfig,
  resolveConfig,
  parseConfigText,
  settingsFromEnv,
  CONFIG_KEYS,
  DEFAULT_CONFIG,
  DEFAULT_CONFIG_FILE,
  type Config,
  type ConfigKey,
  type Transport,
} from './config.ts';
export { buildRequest } from './request.ts';
export { collectStateFiles, type StateFile } from './state-files.ts';
export { cachedRepoDefinition, CACHED_REPO_ID } from './cached-repo.ts';
export { parseResultRecord, readResultRecord, type ResultRecord, type ReceivedPackage } from './result-record.ts';
export { diffInstalled, parseInstalled, type InstalledPackage } from './installed.ts';
export { acquireLock, type Lock } from './lock.ts';
export { agentRun, receiverArgv, agentDeadlineSeconds, AGENT_SERVICE, type AgentRun } from './transport.ts';
export { runAgent, STREAM_FD, REPLY_FD, type AgentOptions, type AgentResult, type ReceiverSpec } from './agent-process.ts';
export { linkReceiver, type ReceiverLink, type ReceiverOutcome } from './receiver-link.ts';
export { dom0DnfInstallArgs, dom0DnfBaseArgs } from './dom0-dnf.ts';
export { Reporter, type Sink, type OutputMode } from './reporter.ts';
export * from './errors.ts';
