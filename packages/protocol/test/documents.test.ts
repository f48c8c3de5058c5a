/** request.json and the reply as the schema has them: every field at its bound (SPEC 5, 6). */
import { describe, expect, it } from 'vitest';
import { encodeReply, encodeRequest, formatNevra, parseReply, parseRequest, PROTOCOL_VERSION, ReplyError, RequestError, type UpdateRequest, validateRequest } from '../src/index.ts';
import { text, UPGRADE_REQUEST } from './helpers.ts';

describe('JSON documents', () => {
  it('says an array is not an object instead of listing its missing fields', () => {
    const issuesOf = (line: string): readonly string[] => {
      try {
        parseReply(text(line));
      } catch (error) {
        if (error instanceof ReplyError) return error.issues;
        throw error;
      }
      throw new Error('the reply was accepted');
    };
    expect(issuesOf('[]\n')).toEqual(['reply: must be an object']);
    expect(issuesOf(`{"protocol":"${PROTOCOL_VERSION}","status":"rejected","packages":[],"error":[]}\n`)).toEqual(['reply.error: must be an object']);
  });
});

describe('request schema', () => {
  const base: UpdateRequest = UPGRADE_REQUEST;

  it('requires at least one package for every action that needs one, download included', () => {
    for (const action of ['install', 'reinstall', 'downgrade', 'download'] as const) {
      expect(() => validateRequest({ ...base, action }), action).toThrow(RequestError);
      expect(validateRequest({ ...base, action, packages: ['vim'] }).action).toBe(action);
    }
    expect(validateRequest({ ...base, action: 'check-only' }).packages).toEqual([]);
  });

  it('takes the plain dnf flags only as whole items', () => {
    expect(validateRequest({ ...base, dnfOptions: ['--best', '--nodocs'] }).dnfOptions).toEqual(['--best', '--nodocs']);
    for (const option of ['--bestx', '--best=0', '--quiet --nogpgcheck', '--refresh\n', '--nodocs-x']) {
      expect(() => validateRequest({ ...base, dnfOptions: [option] }), JSON.stringify(option)).toThrow(/request\.dnfOptions\[0\]/);
    }
  });

  it('rejects an --exclude spec that starts with "-", as a package spec would be', () => {
    expect(validateRequest({ ...base, dnfOptions: ['--exclude=kernel*'] }).dnfOptions).toEqual(['--exclude=kernel*']);
    for (const option of ['--exclude=-x', '--exclude=--nogpgcheck', '--exclude=']) {
      expect(() => validateRequest({ ...base, dnfOptions: [option] }), option).toThrow(/request\.dnfOptions\[0\]/);
    }
  });

  it('caps packages at 1024, each repo list at 256 and dnfOptions at 64 items', () => {
    const cases: [keyof UpdateRequest, number, (i: number) => string][] = [
      ['packages', 1024, (i) => `p${i}`],
      ['enableRepos', 256, (i) => `r${i}`],
      ['disableRepos', 256, (i) => `r${i}`],
      ['dnfOptions', 64, () => '--best'],
    ];
    for (const [field, max, item] of cases) {
      const at = (n: number): UpdateRequest => ({ ...base, [field]: Array.from({ length: n }, (_, i) => item(i)) });
      expect(validateRequest(at(max))[field], field).toHaveLength(max);
      expect(() => validateRequest(at(max + 1)), field).toThrow(new RegExp(`request\\.${field}: has more than ${max} items`));
    }
  });

  it('rejects a --releasever that starts with "-" or "."', () => {
    expect(validateRequest({ ...base, dnfOptions: ['--releasever=41'] }).dnfOptions).toEqual(['--releasever=41']);
    for (const option of ['--releasever=-1', '--releasever=.41', '--releasever=']) {
      expect(() => validateRequest({ ...base, dnfOptions: [option] }), option).toThrow(/request\.dnfOptions\[0\]/);
    }
  });

  it('refuses to encode a valid request whose line would exceed 64 KiB', () => {
    // 1024 package specs of 255 characters each pass the schema but make a 260 KiB line
    const packages = Array.from({ length: 1024 }, (_, i) => `p${String(i).padStart(4, '0')}${'x'.repeat(250)}`);
    expect(validateRequest({ ...base, action: 'install', packages }).packages).toHaveLength(1024);
    expect(() => encodeRequest({ ...base, action: 'install', packages })).toThrow(expect.objectContaining({ code: 'REQUEST_TOO_LARGE' }));
  });
});

describe('reply schema', () => {
  const PKG = {
    file: 'hello-1.0-1.noarch.rpm',
    nevra: 'hello-1.0-1.noarch',
    sha256: '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03',
    signer: '0123456789abcdef0123456789abcdef01234567',
  };
  const line = (value: unknown): Uint8Array => text(`${JSON.stringify(value)}\n`);
  const accepted = (pkg: Record<string, string>): Uint8Array => line({ protocol: PROTOCOL_VERSION, status: 'accepted', packages: [pkg] });
  const rejected = (error: unknown): Uint8Array => line({ protocol: PROTOCOL_VERSION, status: 'rejected', packages: [], error });
  const issuesOf = (bytes: Uint8Array): readonly string[] => {
    try {
      parseReply(bytes);
    } catch (error) {
      if (error instanceof ReplyError) return error.issues;
      throw error;
    }
    throw new Error('the reply was accepted');
  };

  it('takes lowercase hex only for sha256', () => {
    expect(parseReply(accepted(PKG)).packages).toEqual([PKG]);
    expect(issuesOf(accepted({ ...PKG, sha256: PKG.sha256.toUpperCase() }))).toEqual([expect.stringMatching(/^reply\.packages\[0\]\.sha256: /)]);
  });

  it('takes a signer of exactly 40 or 64 hex digits, nothing in between', () => {
    expect(parseReply(accepted({ ...PKG, signer: 'a'.repeat(64) })).status).toBe('accepted');
    for (const length of [39, 41, 50, 63]) {
      expect(issuesOf(accepted({ ...PKG, signer: 'a'.repeat(length) })), String(length)).toEqual([expect.stringMatching(/^reply\.packages\[0\]\.signer: /)]);
    }
  });

  it('rejects a member that is not sanitised text (an escape sequence)', () => {
    expect(parseReply(rejected({ code: 'TAR_BAD_NAME', member: 'x.rpm', message: 'bad' })).status).toBe('rejected');
    for (const member of ['\x1b[2Jx.rpm', 'x.rpm\n', 'a\u202eb']) {
      expect(issuesOf(rejected({ code: 'TAR_BAD_NAME', member, message: 'bad' })), JSON.stringify(member)).toEqual([
        expect.stringMatching(/^reply\.error\.member: /),
      ]);
    }
  });

  it('rejects a nevra that starts with "-" or "."', () => {
    for (const nevra of ['-hello-1.0-1.noarch', '.hello-1.0-1.noarch']) {
      expect(issuesOf(accepted({ ...PKG, nevra })), nevra).toEqual([expect.stringMatching(/^reply\.packages\[0\]\.nevra: /)]);
    }
  });

  it('rejects an error code with lowercase letters', () => {
    expect(issuesOf(rejected({ code: 'TAR_bad', message: 'bad' }))).toEqual([expect.stringMatching(/^reply\.error\.code: /)]);
  });

  it('rejects a file name longer than the 100-byte ustar name field', () => {
    const long = `${'a'.repeat(97)}.rpm`;
    expect(issuesOf(accepted({ ...PKG, file: long }))).toEqual([expect.stringMatching(/^reply\.packages\[0\]\.file: /)]);
    expect(parseReply(accepted({ ...PKG, file: long.slice(1) })).status).toBe('accepted');
  });

  it('refuses to encode an invalid reply', () => {
    expect(() => encodeReply({ protocol: PROTOCOL_VERSION, status: 'accepted', packages: [{ ...PKG, sha256: 'XYZ' }] } as never)).toThrow(ReplyError);
    expect(() => encodeReply({ protocol: PROTOCOL_VERSION, status: 'accepted', packages: [{ ...PKG, file: '../x.rpm' }] } as never)).toThrow(ReplyError);
  });

  it('rejects a field in the error object beyond code, member and message', () => {
    expect(issuesOf(rejected({ code: 'TAR_BAD_NAME', message: 'bad', detail: 'x' }))).toEqual(['reply.error.detail: is not an allowed field']);
  });

  it('does not take a string value equal to a key, or repeated array items, for a duplicate key', () => {
    expect(parseReply(rejected({ code: 'CODE', member: 'message', message: 'message' }))).toMatchObject({ error: { message: 'message' } });
    const request = { protocol: PROTOCOL_VERSION, action: 'install', packages: ['vim', 'emacs', 'nano', 'emacs'], enableRepos: [], disableRepos: [], clean: false, dnfOptions: [] };
    expect(parseRequest(line(request)).packages).toEqual(['vim', 'emacs', 'nano', 'emacs']);
  });

  it('names the missing error of a rejected reply', () => {
    expect(issuesOf(line({ protocol: PROTOCOL_VERSION, status: 'rejected', packages: [] }))).toEqual(['reply.error: is missing (status is "rejected")']);
  });
});

describe('request.json size', () => {
  it('rejects a request.json line over 64 KiB as too large, not as bad JSON', () => {
    const big = text(`{"x":"${'a'.repeat(65536)}"}\n`);
    expect(() => parseRequest(big)).toThrow(expect.objectContaining({ code: 'REQUEST_TOO_LARGE' }));
  });
});

describe('formatNevra', () => {
  it('writes no epoch for an empty epoch string, as for none', () => {
    const nevra = { name: 'hello', version: '1.0', release: '1.fc41', arch: 'noarch' };
    expect(formatNevra({ ...nevra, epoch: '' })).toBe('hello-1.0-1.fc41.noarch');
    expect(formatNevra({ ...nevra, epoch: null })).toBe('hello-1.0-1.fc41.noarch');
    expect(formatNevra({ ...nevra, epoch: 0 })).toBe('hello-0:1.0-1.fc41.noarch');
  });
});
