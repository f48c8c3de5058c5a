// A command-line error ends stderr with the same line as every other failure, code included, so
// a person and dom0-update (which keeps the agent's last "error:" line) both see what was wrong.
import { describe, expect, it } from 'vitest';
import { agent } from './support/world.ts';

describe('a command-line error', () => {
  it.each([
    [['run', '--transport=foo'], 'BAD_TRANSPORT', '--transport must be qrexec, fd or local, not "foo"'],
    [['frob'], 'UNKNOWN_COMMAND', 'unknown command "frob": use run, download or sync-state'],
    [[], 'NO_COMMAND', 'no command given: use run, download or sync-state'],
    [['sync-state', '--bogus'], 'UNKNOWN_OPTION', 'sync-state: unknown option "--bogus" (sync-state accepts --workdir, --json-progress)'],
    [['run', '--workdir='], 'BAD_WORKDIR', '--workdir must be a directory path'],
    [['sync-state', '--workdir=/tmp/agent work'], 'BAD_WORKDIR', '--workdir may not hold a space or comma: dnf would split the repository directory inside it'],
    [['download', '--workdir=/tmp/a,b'], 'BAD_WORKDIR', '--workdir may not hold a space or comma: dnf would split the repository directory inside it'],
    [['download', '--workdir', 'a', '--workdir', 'b'], 'REPEATED_OPTION', 'option --workdir was given more than once'],
  ])('%j ends stderr with "updatevm-agent: error: <message> [%s]" and exits 2', async (argv, code, message) => {
    const run = await agent(argv);
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`updatevm-agent: error: ${message}; try "updatevm-agent --help" [${code}]`);
  });
});
