export { createIsolation, interfacesIn, type Isolation } from './isolation.ts';
export { createScenario, defaultInstall, removeScenario, runIn, treeDigest, type RunResult, type Scenario, type ScenarioOptions } from './scenario.ts';
export { HOSTILE_MODES, type HostileMode } from './hostile-modes.ts';
export * from './paths.ts';
