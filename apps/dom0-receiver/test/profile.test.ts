import { describe, expect, it } from 'vitest';
import { encodeStream, fileMember, getFixtures, keyringArgs, makeUpdatesDir, runReceiver } from './helpers.ts';

describe('DOM0_RECEIVER_PROFILE', () => {
  it('prints phase timings of the receiver and of the stage only when asked', async () => {
    const f = await getFixtures();
    const stream = await encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path))));
    const args = async (): Promise<string[]> => ['receive', '--updates-dir', await makeUpdatesDir(), ...(await keyringArgs())];

    const profiled = await runReceiver(await args(), { stdin: stream, env: { DOM0_RECEIVER_PROFILE: '1' } });
    expect(profiled.code).toBe(0);
    expect(profiled.stderr).toMatch(/^dom0-receiver: profile stage keyring=\d+ read=\d+ verify=\d+ .*total=\d+$/m);
    expect(profiled.stderr).toMatch(/^dom0-receiver: profile receiver stage=\d+ staged-check=\d+ generation=\d+ createrepo=\d+ .*swap=\d+ .*total=\d+$/m);

    const plain = await runReceiver(await args(), { stdin: stream });
    expect(plain.code).toBe(0);
    expect(plain.stderr).not.toContain('profile');
  });
});
