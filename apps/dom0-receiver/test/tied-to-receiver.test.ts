import { describe, expect, it, vi } from 'vitest';

/** A fresh copy of the module: it looks setpriv up once per process. */
async function fresh(): Promise<typeof import('../src/publish/tied-to-receiver.ts')> {
  vi.resetModules();
  return import('../src/publish/tied-to-receiver.ts');
}

describe('commands tied to the receiver', () => {
  it('runs the command under setpriv --pdeathsig KILL when setpriv is in PATH', async () => {
    const { tiedToReceiver } = await fresh();
    const command = await tiedToReceiver('createrepo_c', ['--quiet', 'dir'], { PATH: '/usr/bin:/bin' });
    expect(command).toEqual({ file: '/usr/bin/setpriv', args: ['--pdeathsig', 'KILL', '--', 'createrepo_c', '--quiet', 'dir'] });
  });

  it('runs the command as it is when there is no setpriv', async () => {
    const { tiedToReceiver } = await fresh();
    const command = await tiedToReceiver('createrepo_c', ['--quiet', 'dir'], { PATH: '/nonexistent' });
    expect(command).toEqual({ file: 'createrepo_c', args: ['--quiet', 'dir'] });
  });
});
