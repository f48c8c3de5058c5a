import { describe, expect, it, vi } from 'vitest';
import { diagnose } from '../src/output/diagnostics.ts';
import { bareReason } from '../src/output/reason.ts';
import { rejectedReply } from '../src/output/reply.ts';
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

  it.each(['RPM_IO', 'RPM_STATE', 'TAR_SOURCE_ERROR', 'CONFIG_INVALID', 'STAGE_IO', 'STAGED_FILES_MISMATCH', 'PUBLISH_FAILED'])(
    "keep the reason of dom0's own %s (which can name dom0's paths) out of the sender's reply",
    (code) => {
      const reply = rejectedReply({ code, member: 'a-1-1.noarch.rpm', message: '/var/lib/qubes/updates/staging.x: EIO' });
      expect(reply.status === 'rejected' ? reply.error : reply).toEqual({ code, member: 'a-1-1.noarch.rpm', message: "dom0 could not take the batch; the reason is in dom0's log" });
    },
  );

  it('reach stderr sanitised, whatever a compromised stage put in a rejection it reported', () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      diagnose('rejected a-1-1.noarch.rpm: RPM_SIG_BAD: \u001b[2J\u001b]0;owned\u0007 forged');
    } finally {
      spy.mockRestore();
    }
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^dom0-receiver: rejected a-1-1\.noarch\.rpm: RPM_SIG_BAD: .* forged\n$/);
    expect(written[0]?.slice(0, -1)).not.toMatch(/[\u0000-\u001f\u007f]/);
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
