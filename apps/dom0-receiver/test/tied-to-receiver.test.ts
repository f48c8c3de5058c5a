import { describe, expect, it } from 'vitest';
import { tiedToReceiver } from '../src/publish/tied-to-receiver.ts';

describe('commands tied to the receiver', () => {
  it('runs the command under setpriv --pdeathsig KILL when setpriv is in PATH', async () => {
    const command = await tiedToReceiver('createrepo_c', ['--quiet', 'dir'], { PATH: '/usr/bin:/bin' });
    expect(command).toEqual({ file: '/usr/bin/setpriv', args: ['--pdeathsig', 'KILL', '--', 'createrepo_c', '--quiet', 'dir'] });
  });

  it('runs the command as it is when there is no setpriv', async () => {
    const command = await tiedToReceiver('createrepo_c', ['--quiet', 'dir'], { PATH: '/nonexistent' });
    expect(command).toEqual({ file: 'createrepo_c', args: ['--quiet', 'dir'] });
  });
});
