// Network isolation that proves the design: dom0's processes run in a network namespace with
// nothing but loopback, the UpdateVM's in another one that holds the mirror. Needs root and
// iproute2; otherwise everything runs as ordinary processes and the caller says so.
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';

export interface Isolation {
  readonly mode: 'netns' | 'none';
  /** Why there is no isolation, when there is none. */
  readonly reason: string;
  /** argv prefix that runs a command in dom0's namespace (empty without isolation). */
  readonly dom0Prefix: readonly string[];
  /** argv prefix that runs a command in the UpdateVM's namespace (empty without isolation). */
  readonly updatevmPrefix: readonly string[];
  close(): Promise<void>;
}

async function hasIp(): Promise<boolean> {
  const probe = await execa('ip', ['-V'], { reject: false });
  return probe.exitCode === 0;
}

export async function createIsolation(options: { want?: boolean; uid?: number } = {}): Promise<Isolation> {
  const none = (reason: string): Isolation => ({
    mode: 'none',
    reason,
    dom0Prefix: [],
    updatevmPrefix: [],
    close: () => Promise.resolve(),
  });
  if (options.want === false) return none('isolation turned off');
  if ((options.uid ?? process.getuid?.()) !== 0) return none('not running as root: no network namespaces');
  if (!(await hasIp())) return none('iproute2 (ip) is not installed');

  const tag = randomBytes(4).toString('hex');
  const dom0 = `d0u-dom0-${tag}`;
  const updatevm = `d0u-uvm-${tag}`;
  const made: string[] = [];
  try {
    for (const ns of [dom0, updatevm]) {
      await execa('ip', ['netns', 'add', ns]);
      made.push(ns);
      await execa('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    }
  } catch (error) {
    for (const ns of made) await execa('ip', ['netns', 'del', ns], { reject: false });
    return none(`could not create network namespaces: ${(error as Error).message.split('\n')[0] ?? ''}`);
  }
  return {
    mode: 'netns',
    reason: '',
    dom0Prefix: ['ip', 'netns', 'exec', dom0],
    updatevmPrefix: ['ip', 'netns', 'exec', updatevm],
    close: async () => {
      for (const ns of made) await execa('ip', ['netns', 'del', ns], { reject: false });
    },
  };
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
