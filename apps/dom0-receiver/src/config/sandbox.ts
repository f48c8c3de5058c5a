import type { SandboxKind } from '../cli/args.ts';
import { ConfigError } from '../errors.ts';
import { findExecutable } from './executable-path.ts';
import { diagnose } from '../output/diagnostics.ts';
import type { StageOwner } from '../updates-dir/staging.ts';
import { namespacesUnavailableReason, pathUnreachableReason, type StageIdentity } from './bwrap-preflight.ts';

/** How the stage is wrapped: bwrap by its absolute path (the stage's own env has no PATH). */
export type StageSandbox = { readonly kind: 'none' } | { readonly kind: 'bwrap'; readonly path: string };

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
export async function settleSandbox(plan: SandboxPlan, stagingDir: string, owner: StageOwner | undefined): Promise<StageSandbox> {
  if (plan.kind === 'none') return plan;
  const identity = stageIdentity(owner);
  const reason = (await namespacesUnavailableReason(plan.path, identity)) ?? (await pathUnreachableReason(stagingDir, identity));
  if (reason === undefined) return { kind: 'bwrap', path: plan.path };
  if (plan.kind === 'bwrap') throw new ConfigError('CONFIG_INVALID', `--sandbox bwrap: ${reason}`);
  return fallBack(reason);
}
