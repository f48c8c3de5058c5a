// A sync killed midway (SIGKILL: nothing unwinds) must not cost the next run its root, nor leave
// half-built roots to pile up.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installState, type StateFile } from '../src/installroot/layout.ts';
import { workdirLayout } from '../src/installroot/paths.ts';

/** A pid no process has now. */
function deadPid(): number {
  for (let pid = 4_000_000; pid > 1; pid -= 7) {
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return pid;
    }
  }
  throw new Error('no free pid');
}

async function* noFiles(): AsyncGenerator<StateFile> {
  // dom0 sent nothing but its request
}

const refuse = async (): Promise<never> => Promise.reject(new Error('check refused the new root'));

describe('a sync after one that was killed', () => {
  it('puts back the old root when the kill came between the swap\'s two renames', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'agent-swap-'));
    const dead = deadPid();
    await mkdir(join(workdir, `root.old-${dead}-1`));
    await writeFile(join(workdir, `root.old-${dead}-1`, 'marker'), 'the last good root');
    // a check that refuses the new root: the root in place afterwards is what recovery left
    await expect(installState(workdirLayout(workdir), noFiles(), refuse)).rejects.toThrow('check refused');
    expect(existsSync(join(workdir, 'root', 'marker'))).toBe(true);
    expect((await readdir(workdir)).filter((name) => name.startsWith('root'))).toEqual(['root']);
  });

  it('removes the roots a dead run was building or replacing, and leaves a live run\'s alone', async () => {
    const workdir = await mkdtemp(join(tmpdir(), 'agent-swap-'));
    const dead = deadPid();
    const live = `root.new-${process.ppid}-x`;
    for (const name of ['root', `root.new-${dead}-a`, `root.old-${dead}-2`, live]) await mkdir(join(workdir, name));
    await installState(workdirLayout(workdir), noFiles(), async () => Promise.resolve(true));
    expect((await readdir(workdir)).filter((name) => name.startsWith('root')).sort()).toEqual(['root', live]);
  });
});
