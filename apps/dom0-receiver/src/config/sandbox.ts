import type { SandboxKind } from '../cli/args.ts';
import { ConfigError } from '../errors.ts';
import { findExecutable } from './executable-path.ts';
import { diagnose } from '../output/diagnostics.ts';
import type { StageOwner } from '../updates-dir/staging.ts';
import { namespacesUnavailableReason, pathUnreachableReason, type StageIdentity } from './bwrap-preflight.ts';
import { stageNamespaces, type StageNamespaces } from './stage-namespaces.ts';

/**
 * How the stage is wrapped: bwrap by its absolute path (the stage's own env has no PATH); without
 * it, in network and IPC namespaces of its own where the receiver can make them (stage-namespaces.ts).
 */
export type StageSandbox =
  | { readonly kind: 'none'; readonly namespaces?: StageNamespaces }
  | { readonly kind: 'bwrap'; readonly path: string };

/**
 * `--sandbox` once bwrap has been looked up, before the staging dir and the stage uid exist:
 * `auto` still has to learn whether that uid can use bwrap there (see `settleSandbox`).
 */
export type SandboxPlan = StageSandbox | { readonly kind: 'auto'; readonly path: string };

/** Says once, on stderr, that `auto` runs the stage without bwrap and why. */
function fallBack(reason: string): { kind: 'none' } {
  diagnose(`sandbox: running the stage without bubblewrap (--sandbox auto): ${reason}`);
  return { kind: 'none' };
}

/** Resolves `--sandbox` to a plan; an explicit bwrap must exist, `auto` without it falls back to none. */
export async function resolveSandbox(requested: SandboxKind, env: NodeJS.ProcessEnv): Promise<SandboxPlan> {
  if (requested === 'none') return { kind: 'none' };
  const path = await findExecutable('bwrap', env);
  if (path === undefined) {
    const reason = 'bwrap is not installed (not found in PATH)';
    if (requested === 'bwrap') throw new ConfigError('CONFIG_INVALID', `--sandbox bwrap: ${reason}`);
    return fallBack(reason);
  }
  return requested === 'bwrap' ? { kind: 'bwrap', path } : { kind: 'auto', path };
}

/** The uid/gid the stage will run as: the stage owner, or this process when it does not drop. */
function stageIdentity(owner: StageOwner | undefined): StageIdentity {
  if (owner !== undefined) return { uid: owner.uid, gid: owner.gid, groups: [] };
  return { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0, groups: process.getgroups?.() ?? [] };
}

/**
 * Decides, once the staging dir and the stage identity are known, whether bwrap can work: the
 * kernel must let that uid create namespaces and the uid must reach the staging dir by path.
 * `auto` falls back to none with one diagnostic; an explicit bwrap fails with CONFIG_INVALID.
 */
export async function settleSandbox(
  plan: SandboxPlan,
  stagingDir: string,
  owner: StageOwner | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<StageSandbox> {
  if (plan.kind === 'none') return withoutBwrap(owner, env);
  const identity = stageIdentity(owner);
  const reason = (await namespacesUnavailableReason(plan.path, identity)) ?? (await pathUnreachableReason(stagingDir, identity));
  if (reason === undefined) return { kind: 'bwrap', path: plan.path };
  if (plan.kind === 'bwrap') throw new ConfigError('CONFIG_INVALID', `--sandbox bwrap: ${reason}`);
  fallBack(reason);
  return withoutBwrap(owner, env);
}

/** No bwrap: network and IPC namespaces of the stage's own where root can make them. */
async function withoutBwrap(owner: StageOwner | undefined, env: NodeJS.ProcessEnv): Promise<StageSandbox> {
  const namespaces = await stageNamespaces(owner, env);
  if (typeof namespaces !== 'string') return { kind: 'none', namespaces };
  // only worth a line when the receiver could have made them (as root)
  if (owner !== undefined) diagnose(`sandbox: the stage shares the host's network and IPC namespaces: ${namespaces}`);
  return { kind: 'none' };
}
