// The network namespaces the scenarios make, named after the process that made them:
// d0u-<side>-<pid>-<start>-<serial>. A later run can then prove a leftover stale (its maker is
// gone) and remove it, and never touches a namespace it cannot prove stale.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { liveness, processesInNetns, stopAll, type ProcessId } from './process-tree.ts';

/** Where iproute2 binds named network namespaces. */
export const NETNS_DIR = '/var/run/netns';
const OWNED_NAME = /^d0u-(dom0|uvm)-(\d+)-(\d+)-(\d+)$/;

export type Side = 'dom0' | 'uvm';

export function namespaceName(owner: ProcessId, side: Side, serial: number): string {
  return `d0u-${side}-${String(owner.pid)}-${owner.start}-${String(serial)}`;
}

/** The process that made a namespace, when the name says so. */
export function ownerOf(name: string): ProcessId | undefined {
  const m = OWNED_NAME.exec(name);
  if (m?.[2] === undefined || m[3] === undefined) return undefined;
  const pid = Number(m[2]);
  return Number.isSafeInteger(pid) ? { pid, start: m[3] } : undefined;
}

export async function listNamespaces(): Promise<string[]> {
  try {
    return (await readdir(NETNS_DIR)).sort();
  } catch {
    return [];
  }
}

export async function namespacesOwnedBy(owner: ProcessId): Promise<string[]> {
  return (await listNamespaces()).filter((n) => {
    const o = ownerOf(n);
    return o?.pid === owner.pid && o.start === owner.start;
  });
}

/** Stops whatever still runs in the namespace (only the scenario's processes can), then deletes it. */
export async function deleteNamespace(name: string): Promise<boolean> {
  await stopAll(() => processesInNetns(join(NETNS_DIR, name)));
  const r = await execa('ip', ['netns', 'del', name], { reject: false });
  return r.exitCode === 0;
}

export interface Sweep {
  /** Namespaces of this naming whose maker is provably gone: removed. */
  readonly removed: readonly string[];
  /** `d0u-*` namespaces that may be stale but cannot be proven so (an older naming): left alone. */
  readonly leftAlone: readonly string[];
}

/** Removes the stale namespaces of earlier runs; leaves live and unprovable ones. */
export async function sweepStaleNamespaces(): Promise<Sweep> {
  const removed: string[] = [];
  const leftAlone: string[] = [];
  for (const name of await listNamespaces()) {
    if (!name.startsWith('d0u-')) continue;
    const owner = ownerOf(name);
    const state = owner === undefined ? 'unknown' : await liveness(owner);
    if (state === 'gone') {
      if (await deleteNamespace(name)) removed.push(name);
    } else if (state === 'unknown') {
      leftAlone.push(name);
    }
  }
  return { removed, leftAlone };
}
