// The loopback mirror as its own process, started inside the UpdateVM's network namespace when
// there is one, so that only the agent can reach it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { FIXTURES_CLI_BUNDLE } from './paths.ts';

export interface ServedMirror {
  readonly url: string;
  close(): Promise<void>;
}

export async function serveMirror(dir: string, prefix: readonly string[]): Promise<ServedMirror> {
  const [cmd, ...args] = [...prefix, process.execPath, FIXTURES_CLI_BUNDLE, 'serve', dir];
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString('utf8')));
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error('the mirror did not start within 30 s')), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      const line = /^(http:\/\/127\.0\.0\.1:\d+\/)\s*$/m.exec(seen);
      if (line?.[1]) {
        clearTimeout(timer);
        resolve(line[1]);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the mirror exited early: ${errors.trim()}`));
    });
  });
  return {
    url,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
