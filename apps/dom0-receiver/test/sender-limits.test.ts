import { readdir } from 'node:fs/promises';
import { parseReply } from '@dom0-updates/protocol';
import { describe, expect, it } from 'vitest';
import { encodeStream, fileMember, getFixtures, keyringArgs, leftovers, makeUpdatesDir, runReceiver } from './helpers.ts';

async function v1Stream(): Promise<Buffer> {
  const f = await getFixtures();
  return encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path))));
}

function errorCode(stdout: string): string {
  const reply = parseReply(Buffer.from(stdout));
  return reply.status === 'rejected' ? reply.error.code : 'accepted';
}

describe('sender check under qrexec', () => {
  it('refuses a caller that is not the configured UpdateVM without touching the updates dir', async () => {
    const dir = await makeUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, '--updatevm', 'sys-firewall', ...(await keyringArgs())], {
      stdin: await v1Stream(),
      env: { QREXEC_REMOTE_DOMAIN: 'untrusted-work', QREXEC_SERVICE_ARGUMENT: 'v1' },
    });
    expect(run.code).toBe(1);
    expect(errorCode(run.stdout)).toBe('SENDER_NOT_ALLOWED');
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses any caller when no UpdateVM is configured', async () => {
    const dir = await makeUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], {
      stdin: await v1Stream(),
      env: { QREXEC_REMOTE_DOMAIN: 'sys-firewall', QREXEC_SERVICE_ARGUMENT: 'v1' },
    });
    expect(run.code).toBe(1);
    expect(errorCode(run.stdout)).toBe('UPDATEVM_NOT_CONFIGURED');
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a wrong protocol version argument from the right UpdateVM', async () => {
    const dir = await makeUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], {
      stdin: await v1Stream(),
      env: { QREXEC_REMOTE_DOMAIN: 'sys-firewall', DOM0_UPDATES_UPDATEVM: 'sys-firewall', QREXEC_SERVICE_ARGUMENT: 'v9' },
    });
    expect(run.code).toBe(1);
    expect(errorCode(run.stdout)).toBe('VERSION_UNSUPPORTED');
    expect(await readdir(dir)).toEqual([]);
  });

  it('names a DOM0_UPDATES_UPDATEVM that is no qube name as dom0\'s own CONFIG_INVALID, and reads nothing', async () => {
    const dir = await makeUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], {
      stdin: await v1Stream(),
      env: { QREXEC_REMOTE_DOMAIN: 'sys-firewall', DOM0_UPDATES_UPDATEVM: 'sys firewall', QREXEC_SERVICE_ARGUMENT: 'v1' },
    });
    expect(run.code).toBe(1);
    expect(errorCode(run.stdout)).toBe('CONFIG_INVALID');
    expect(run.stderr).toContain('CONFIG_INVALID: DOM0_UPDATES_UPDATEVM is not a valid qube name: "sys firewall"');
    expect(run.stdout).not.toContain('sys firewall');
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a caller named by an empty QREXEC_REMOTE_DOMAIN (set, so under qrexec) without touching the updates dir', async () => {
    const dir = await makeUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, '--updatevm', 'sys-firewall', ...(await keyringArgs())], {
      stdin: await v1Stream(),
      env: { QREXEC_REMOTE_DOMAIN: '', QREXEC_SERVICE_ARGUMENT: 'v1' },
    });
    expect(run.code).toBe(1);
    expect(errorCode(run.stdout)).toBe('SENDER_NOT_ALLOWED');
    expect(await readdir(dir)).toEqual([]);
  });

  it('takes the UpdateVM from --updatevm over DOM0_UPDATES_UPDATEVM, refusing the qube the variable names', async () => {
    const dir = await makeUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, '--updatevm', 'sys-firewall', ...(await keyringArgs())], {
      stdin: await v1Stream(),
      env: { QREXEC_REMOTE_DOMAIN: 'untrusted-work', DOM0_UPDATES_UPDATEVM: 'untrusted-work', QREXEC_SERVICE_ARGUMENT: 'v1' },
    });
    expect(run.code).toBe(1);
    expect(errorCode(run.stdout)).toBe('SENDER_NOT_ALLOWED');
    expect(run.stdout).toContain('the caller \\"untrusted-work\\" is not the configured UpdateVM');
    expect(await readdir(dir)).toEqual([]);
  });

  it('accepts the configured UpdateVM (from the environment)', async () => {
    const dir = await makeUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], {
      stdin: await v1Stream(),
      env: { QREXEC_REMOTE_DOMAIN: 'sys-firewall', DOM0_UPDATES_UPDATEVM: 'sys-firewall', QREXEC_SERVICE_ARGUMENT: 'v1' },
    });
    expect(run.code).toBe(0);
    expect(errorCode(run.stdout)).toBe('accepted');
  });
});

describe('limits and deadlines', () => {
  it('rejects more files than --max-files', async () => {
    const dir = await makeUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, '--max-files', '2', ...(await keyringArgs())], { stdin: await v1Stream() });
    expect(run.code).toBe(1);
    expect(errorCode(run.stdout)).toBe('TAR_TOO_MANY_MEMBERS');
    expect(await leftovers(dir)).toEqual([]);
    expect((await readdir(dir)).includes('repo')).toBe(false);
  });

  it('rejects more files than UPDATES_MAX_FILES, and the flag wins over the variable', async () => {
    const dir = await makeUpdatesDir();
    const env = { UPDATES_MAX_FILES: '1' };
    const limited = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], { stdin: await v1Stream(), env });
    expect(errorCode(limited.stdout)).toBe('TAR_TOO_MANY_MEMBERS');
    const flagged = await runReceiver(['receive', '--updates-dir', dir, '--max-files', '3', ...(await keyringArgs())], { stdin: await v1Stream(), env });
    expect(flagged.code).toBe(0);
  });

  it('rejects more bytes than --max-bytes and than UPDATES_MAX_BYTES', async () => {
    const dir = await makeUpdatesDir();
    const stream = await v1Stream();
    const byFlag = await runReceiver(['receive', '--updates-dir', dir, '--max-bytes', '10000', ...(await keyringArgs())], { stdin: stream });
    expect(byFlag.code).toBe(1);
    expect(errorCode(byFlag.stdout)).toMatch(/^TAR_(MEMBER_TOO_LARGE|TOO_MANY_BYTES)$/);
    const byEnv = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], { stdin: stream, env: { UPDATES_MAX_BYTES: '10000' } });
    expect(byEnv.code).toBe(1);
    expect(errorCode(byEnv.stdout)).toMatch(/^TAR_(MEMBER_TOO_LARGE|TOO_MANY_BYTES)$/);
    expect(await leftovers(dir)).toEqual([]);
  });

  it('gives up on a stalled sender at --timeout', async () => {
    const dir = await makeUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, '--timeout', '1', ...(await keyringArgs())], { stdin: 'stall' });
    expect(run.code).toBe(1);
    expect(errorCode(run.stdout)).toBe('TAR_TIMEOUT');
    expect(await leftovers(dir)).toEqual([]);
  });
});
