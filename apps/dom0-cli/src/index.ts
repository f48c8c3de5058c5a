// What other workspace packages use: the config parser (tooling/e2e checks the qrexec service's
// config against it). The command itself is the bundle, dist/dom0-update.mjs.
export { CONFIG_KEYS, parseConfigText, resolveConfig, type Config, type ConfigKey } from './config.ts';
export { ConfigError } from './errors.ts';
