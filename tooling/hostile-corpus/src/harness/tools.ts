import { runProcess } from './process.ts';

async function capture(command: string, args: readonly string[], cwd: string, what: string): Promise<Uint8Array> {
  const result = await runProcess(command, args, { cwd });
  if (result.exitCode !== 0) {
    throw new Error(`${what} failed (${String(result.exitCode)}): ${new TextDecoder().decode(result.stderr)}`);
  }
  return result.stdout;
}

/** An archive written by the real GNU tar: `tar ARGS -cf - ...` run in `cwd`. */
export async function gnuTar(cwd: string, args: readonly string[]): Promise<Uint8Array> {
  return capture('tar', ['-cf', '-', ...args], cwd, `tar ${args.join(' ')}`);
}

/**
 * An archive written by Python's tarfile: `script` gets `out` (a binary stream to write the
 * archive to) and the module `tarfile`, `io` in scope.
 */
export async function pythonTar(cwd: string, script: string): Promise<Uint8Array> {
  const prelude = 'import io, sys, tarfile\nout = sys.stdout.buffer\n';
  return capture('python3', ['-c', prelude + script], cwd, 'python3 tarfile');
}
