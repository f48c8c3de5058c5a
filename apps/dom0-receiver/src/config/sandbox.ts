import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import type { SandboxKind } from '../cli/args.ts';
import { ConfigError } from '../errors.ts';

/** How the stage is wrapped: bwrap by its absolute path (the stage's own env has no PATH). */
export type StageSandbox = { readonly kind: 'none' } | { readonly kind: 'bwrap'; readonly path: string };

/** The first executable `name` in the receiver's PATH (absolute entries only), if any. */
export async function findExecutable(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env['PATH'] ?? '/usr/bin:/bin').split(delimiter)) {
    if (!isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next entry
    }
  }
  return undefined;
}

/** Resolves `--sandbox` to what the stage is started with; an explicit bwrap must exist. */
export async function resolveSandbox(requested: SandboxKind, env: NodeJS.ProcessEnv): Promise<StageSandbox> {
  if (requested === 'none') return { kind: 'none' };
  const path = await findExecutable('bwrap', env);
  if (path === undefined) throw new ConfigError('CONFIG_INVALID', '--sandbox bwrap: bwrap is not installed (not found in PATH)');
  return { kind: 'bwrap', path };
}
