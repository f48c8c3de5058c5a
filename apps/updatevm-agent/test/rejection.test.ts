import { describe, expect, it } from 'vitest';
import { RejectedError } from '../src/errors.ts';
import { interpretReply } from '../src/transport/reply.ts';
import { rejectedReply } from './support/stream.ts';

function rejection(reply: string): RejectedError {
  try {
    interpretReply({ reply: Buffer.from(`${reply}\n`), exitCode: 1, stderr: '' });
  } catch (error) {
    if (error instanceof RejectedError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe("dom0's rejection", () => {
  it('of one package names the package and the reason; the code is left to the brackets of the error line', () => {
    const error = rejection(rejectedReply('RPM_SIG_BAD', 'a-1-1.noarch.rpm', 'the signature does not match'));
    expect(error.code).toBe('RPM_SIG_BAD');
    expect(error.member).toBe('a-1-1.noarch.rpm');
    expect(error.message).toBe('dom0 rejected package a-1-1.noarch.rpm because the signature does not match');
  });

  it('of the whole batch gives the reason without repeating the code', () => {
    const error = rejection(rejectedReply('CONFIG_INVALID', undefined, "the receiver's sandbox cannot start"));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.member).toBeUndefined();
    expect(error.message).toBe("dom0 rejected the update batch: the receiver's sandbox cannot start");
  });

  it('cuts dom0\'s reason to 1000 characters, though the protocol allows dom0 a longer one', () => {
    const error = rejection(rejectedReply('RPM_SIG_BAD', 'a-1-1.noarch.rpm', 'x'.repeat(3000)));
    const prefix = 'dom0 rejected package a-1-1.noarch.rpm because ';
    expect(error.message.startsWith(`${prefix}xxx`)).toBe(true);
    expect(error.message.length).toBeLessThanOrEqual(prefix.length + 1000);
  });

  it("quotes the last lines of the receiver's own stderr, sanitised, when the agent ran the receiver itself (--transport local)", () => {
    const reply = Buffer.from(`${rejectedReply('KEYRING_UNREADABLE', undefined, "dom0 could not take the batch; the reason is in dom0's log")}\n`);
    const stderr = 'noise 1\nnoise 2\n\ndom0-receiver: note\ndom0-receiver: rejected the batch: KEYRING_UNREADABLE: keyring /k\u001b[2J cannot be read (ENOENT)\n';
    const local = (() => {
      try {
        interpretReply({ reply, exitCode: 1, stderr }, true);
      } catch (error) {
        return error as RejectedError;
      }
      throw new Error('expected a rejection');
    })();
    expect(local.message).toBe(
      "dom0 rejected the update batch: dom0 could not take the batch; the reason is in dom0's log; the receiver's stderr: noise 2 | dom0-receiver: note | dom0-receiver: rejected the batch: KEYRING_UNREADABLE: keyring /k\\x1b[2J cannot be read (ENOENT)",
    );
    // through dom0-update or qrexec the stderr is not the receiver's: nothing is quoted
    expect(() => interpretReply({ reply, exitCode: 1, stderr })).toThrow(new RejectedError('KEYRING_UNREADABLE', undefined, "dom0 could not take the batch; the reason is in dom0's log"));
  });
});
