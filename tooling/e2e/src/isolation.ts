// Network isolation that proves the design: dom0's processes run in a network namespace with
// nothing but loopback, the UpdateVM's in another one that holds the mirror. Needs root and
// iproute2; otherwise everything runs as ordinary processes and the caller says so.
import { execa } from 'execa';
import { join } from 'node:path';
import { deleteNamespace, namespaceName, namespacesOwnedBy, NETNS_DIR, sweepStaleNamespaces, type Sweep } from './netns.ts';
import { processesInNetns, selfId, type ProcessId } from './process-tree.ts';

export interface Isolation {
  readonly mode: 'netns' | 'none';
  /** Why there is no isolation, when there is none. */
  readonly reason: string;
  /** argv prefix that runs a command in dom0's namespace (empty without isolation). */
  readonly dom0Prefix: readonly string[];
  /** argv prefix that runs a command in the UpdateVM's namespace (empty without isolation). */
  readonly updatevmPrefix: readonly string[];
  /** The namespaces made (empty without isolation). */
  readonly namespaces: readonly string[];
  /** What the start-up sweep of earlier runs' namespaces did. */
  readonly sweep: Sweep;
  /** Stops what runs in the namespaces and deletes them; idempotent. */
  close(): Promise<void>;
}

async function hasIp(): Promise<boolean> {
  const probe = await execa('ip', ['-V'], { reject: false });
  return probe.exitCode === 0;
}

// Per process: a serial for unique names, namespaces being made right now, and whether the
// process is shutting down (then no more are made).
let serial = 0;
let creating: Promise<unknown> = Promise.resolve();
let shuttingDown = false;

/**
 * On an interrupt: makes no more namespaces, waits for one being made, then stops the processes
 * in every namespace this process made and deletes them, whoever holds the Isolation. Returns
 * the names deleted.
 */
export async function removeOwnNamespaces(): Promise<string[]> {
  shuttingDown = true;
  await creating.catch(() => undefined);
  const removed: string[] = [];
  for (const ns of await ownNamespaces()) {
    if (await deleteNamespace(ns)) removed.push(ns);
  }
  return removed;
}

/** The namespaces this process made that exist now. */
export async function ownNamespaces(): Promise<string[]> {
  const self = await selfId();
  return self === undefined ? [] : namespacesOwnedBy(self);
}

/** Every process running in a namespace this process made. */
export async function processesInOwnNamespaces(): Promise<ProcessId[]> {
  const out: ProcessId[] = [];
  for (const ns of await ownNamespaces()) out.push(...(await processesInNetns(join(NETNS_DIR, ns))));
  return out;
}

export async function createIsolation(options: { want?: boolean; uid?: number } = {}): Promise<Isolation> {
  const noSweep: Sweep = { removed: [], leftAlone: [] };
  const none = (reason: string, sweep: Sweep = noSweep): Isolation => ({
    mode: 'none',
    reason,
    dom0Prefix: [],
    updatevmPrefix: [],
    namespaces: [],
    sweep,
    close: () => Promise.resolve(),
  });
  if (options.want === false) return none('isolation turned off');
  if ((options.uid ?? process.getuid?.()) !== 0) return none('not running as root: no network namespaces');
  if (!(await hasIp())) return none('iproute2 (ip) is not installed');
  const self = await selfId();
  if (self === undefined) return none('no /proc to name the namespaces after this process');
  const sweep = await sweepStaleNamespaces();
  // Checked and `creating` set in one turn of the event loop: an interrupt sees either this
  // creation pending or none at all.
  if (shuttingDown) throw new Error('interrupted: no network namespaces are made any more');
  serial += 1;
  const dom0 = namespaceName(self, 'dom0', serial);
  const updatevm = namespaceName(self, 'uvm', serial);
  const made: string[] = [];
  const making = makeBoth(dom0, updatevm, made);
  creating = making;
  const failure = await making;
  if (shuttingDown) throw new Error('interrupted: the new network namespaces are being removed');
  if (failure !== undefined) {
    for (const ns of made) await deleteNamespace(ns);
    return none(`could not create network namespaces: ${failure}`, sweep);
  }
  let closing: Promise<void> | undefined;
  return {
    mode: 'netns',
    reason: '',
    dom0Prefix: ['ip', 'netns', 'exec', dom0],
    updatevmPrefix: ['ip', 'netns', 'exec', updatevm],
    namespaces: [dom0, updatevm],
    sweep,
    close: () =>
      (closing ??= (async () => {
        for (const ns of made) await deleteNamespace(ns);
      })()),
  };
}

/** Makes both namespaces with loopback up; returns why not, or undefined. */
async function makeBoth(dom0: string, updatevm: string, made: string[]): Promise<string | undefined> {
  try {
    for (const ns of [dom0, updatevm]) {
      await execa('ip', ['netns', 'add', ns]);
      made.push(ns);
      await execa('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    }
    return undefined;
  } catch (error) {
    return (error as Error).message.split('\n')[0] ?? '';
  }
}

/** The network interfaces a namespace prefix sees (names only). */
export async function interfacesIn(prefix: readonly string[]): Promise<string[]> {
  const [cmd, ...args] = [...prefix, 'ip', '-o', 'link', 'show'];
  const out = await execa(cmd ?? 'ip', args);
  return out.stdout
    .split('\n')
    .map((line) => /^\d+:\s+([^:@]+)/.exec(line)?.[1] ?? '')
    .filter((name) => name !== '');
}
