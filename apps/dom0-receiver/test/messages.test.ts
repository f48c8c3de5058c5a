import { describe, expect, it } from 'vitest';
import { bareReason } from '../src/output/reason.ts';
import { encodeStream, fileMember, getFixtures, keyringArgs, makeUpdatesDir, readResult, replyError, runReceiver } from './helpers.ts';

const count = (text: string, part: string): number => text.split(part).length - 1;

describe('rejection messages', () => {
  it('strip the member and code an error message already carries, and nothing else', () => {
    expect(bareReason('x.rpm: RPM_PAYLOAD_MISMATCH: payload digest differs', 'RPM_PAYLOAD_MISMATCH', 'x.rpm')).toBe('payload digest differs');
    expect(bareReason('KEYRING_PARSE: no key', 'KEYRING_PARSE', null)).toBe('no key');
    expect(bareReason('member a.rpm: size field is not octal', 'TAR_HEADER_SIZE', 'a.rpm')).toBe('size field is not octal');
    expect(bareReason('the stage did not start', 'STAGE_START_FAILED', null)).toBe('the stage did not start');
    expect(bareReason('y.rpm: RPM_SIG_BAD: x', 'RPM_SIG_BAD', 'x.rpm')).toBe('y.rpm: RPM_SIG_BAD: x');
  });

  it('name the member and the code once in the reply, the record and the diagnostic', async () => {
    const f = await getFixtures();
    const pkg = f.untrusted[0];
    if (pkg === undefined) throw new Error('no untrusted fixture');
    const dir = await makeUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], { stdin: await encodeStream([await fileMember(pkg.path)]) });
    expect(run.code).toBe(1);
    const error = replyError(run);
    expect(error).toMatchObject({ code: 'RPM_KEY_NOT_TRUSTED', member: pkg.fileName });
    expect(error.message).not.toContain('RPM_KEY_NOT_TRUSTED');
    expect(error.message).not.toContain(pkg.fileName);
    expect((await readResult(dir))['rejection']).toEqual({ code: 'RPM_KEY_NOT_TRUSTED', member: pkg.fileName, message: error.message });
    const line = run.stderr.split('\n').find((l) => l.startsWith('dom0-receiver: rejected '));
    expect(line).toBe(`dom0-receiver: rejected ${pkg.fileName}: RPM_KEY_NOT_TRUSTED: ${error.message}`);
  });

  it('name the file and the code once per verify line', async () => {
    const f = await getFixtures();
    const pkg = f.untrusted[0];
    if (pkg === undefined) throw new Error('no untrusted fixture');
    const run = await runReceiver(['verify', ...(await keyringArgs()), pkg.path]);
    expect(run.code).toBe(1);
    const line = run.stdout.trim();
    expect(line.startsWith(`${pkg.path}: REJECTED RPM_KEY_NOT_TRUSTED `)).toBe(true);
    expect(count(line, 'RPM_KEY_NOT_TRUSTED')).toBe(1);
    expect(count(line, pkg.fileName)).toBe(1);
  });
});
