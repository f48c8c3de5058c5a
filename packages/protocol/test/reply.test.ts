import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, ReplyError, encodeReply, formatNevra, parseReply, type Reply } from '../src/index.ts';
import { text } from './helpers.ts';

const accepted: Reply = {
  protocol: PROTOCOL_VERSION,
  status: 'accepted',
  packages: [
    {
      file: 'bash-5.2.15-1.fc37.x86_64.rpm' as never,
      nevra: 'bash-0:5.2.15-1.fc37.x86_64',
      sha256: 'a'.repeat(64),
      signer: '0123456789abcdef0123456789abcdef01234567',
    },
  ],
};

function issuesOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ReplyError) return error.issues;
    throw error;
  }
  throw new Error('expected a ReplyError');
}

describe('reply', () => {
  it('round-trips an accepted reply as one JSON line', () => {
    const bytes = encodeReply(accepted);
    expect(bytes.at(-1)).toBe(0x0a);
    expect(bytes.indexOf(0x0a)).toBe(bytes.length - 1);
    expect(parseReply(bytes)).toEqual(accepted);
  });

  it('sanitises the error member and message of a rejected reply when encoding', () => {
    const bytes = encodeReply({
      protocol: PROTOCOL_VERSION,
      status: 'rejected',
      packages: [],
      error: { code: 'TAR_BAD_NAME', member: 'evil\x1b[2J.rpm', message: 'bad\nname\u202e' },
    });
    const reply = parseReply(bytes);
    expect(reply.status).toBe('rejected');
    expect(reply.status === 'rejected' && reply.error).toEqual({
      code: 'TAR_BAD_NAME',
      member: 'evil\\x1b[2J.rpm',
      message: 'bad\\x0aname\\u202e',
    });
  });

  it('collects every bad field in one error', () => {
    const line = text(
      `${JSON.stringify({
        protocol: 'dom0-updates/2',
        status: 'accepted',
        packages: [{ file: '../x.rpm', nevra: 'x', sha256: 'XYZ', signer: 'abc' }],
        extra: 1,
      })}\n`,
    );
    const issues = issuesOf(() => parseReply(line));
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringContaining('reply.extra'),
        expect.stringContaining('reply.protocol'),
        expect.stringContaining('reply.packages[0].file'),
        expect.stringContaining('reply.packages[0].sha256'),
        expect.stringContaining('reply.packages[0].signer'),
      ]),
    );
    expect(issues).toHaveLength(5);
  });

  it('rejects a rejected reply without an error and an accepted one with an error', () => {
    expect(issuesOf(() => parseReply(text('{"protocol":"dom0-updates/1","status":"rejected","packages":[]}\n')))).toEqual([
      expect.stringContaining('reply.error'),
    ]);
    expect(() =>
      parseReply(text('{"protocol":"dom0-updates/1","status":"accepted","packages":[],"error":{"code":"X","message":"m"}}\n')),
    ).toThrow(/reply\.error/);
  });

  it('takes an error message of 4096 characters and rejects 4097, and a member name of 301', () => {
    const rejected = (error: object) => text(`${JSON.stringify({ protocol: PROTOCOL_VERSION, status: 'rejected', packages: [], error })}\n`);
    expect(parseReply(rejected({ code: 'X', member: 'a'.repeat(300), message: 'a'.repeat(4096) })).status).toBe('rejected');
    expect(issuesOf(() => parseReply(rejected({ code: 'X', message: 'a'.repeat(4097) })))).toEqual([expect.stringContaining('reply.error.message')]);
    expect(issuesOf(() => parseReply(rejected({ code: 'X', member: 'a'.repeat(301), message: 'm' })))).toEqual([expect.stringContaining('reply.error.member')]);
  });

  it('rejects a rejected reply that lists packages (a rejection accepts nothing)', () => {
    const line = text(`${JSON.stringify({ ...accepted, status: 'rejected', error: { code: 'TAR_BAD_NAME', message: 'm' } })}\n`);
    expect(issuesOf(() => parseReply(line))).toEqual([expect.stringContaining('reply.packages')]);
  });

  it('rejects raw control characters in text fields of a parsed reply', () => {
    const line = text(
      `${JSON.stringify({ protocol: PROTOCOL_VERSION, status: 'rejected', packages: [], error: { code: 'X', message: 'a\u001bb' } })}\n`,
    );
    expect(issuesOf(() => parseReply(line))).toEqual([expect.stringContaining('reply.error.message')]);
  });

  it('rejects bad framing, bad JSON and oversize replies with their codes', () => {
    const good = encodeReply(accepted);
    expect(() => parseReply(good.subarray(0, -1))).toThrow(expect.objectContaining({ code: 'REPLY_BAD_FRAMING' }));
    expect(() => parseReply(text('{}\n{}\n'))).toThrow(expect.objectContaining({ code: 'REPLY_BAD_FRAMING' }));
    expect(() => parseReply(text('{nope\n'))).toThrow(expect.objectContaining({ code: 'REPLY_BAD_JSON' }));
    expect(() => parseReply(Uint8Array.from([0xff, 0x0a]))).toThrow(expect.objectContaining({ code: 'REPLY_BAD_JSON' }));
    expect(() => parseReply(new Uint8Array(4 * 1024 * 1024 + 1).fill(0x20))).toThrow(
      expect.objectContaining({ code: 'REPLY_TOO_LARGE' }),
    );
  });

  it('formats NEVRA with and without an epoch', () => {
    expect(formatNevra({ name: 'a', epoch: 2, version: '1.0', release: '3', arch: 'noarch' })).toBe('a-2:1.0-3.noarch');
    expect(formatNevra({ name: 'a', epoch: null, version: '1.0', release: '3', arch: 'noarch' })).toBe('a-1.0-3.noarch');
  });
});
