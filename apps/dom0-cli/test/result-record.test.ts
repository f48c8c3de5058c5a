import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateError } from '../src/errors.ts';
import { parseResultRecord, readResultRecord } from '../src/result-record.ts';

const pkg = {
  file: 'dom0-tool-2.0-1.noarch.rpm',
  name: 'dom0-tool',
  epoch: 0,
  version: '2.0',
  release: '1',
  arch: 'noarch',
  sha256: 'a'.repeat(64),
  size: 100,
  signer: { fingerprint: 'B'.repeat(40), algorithm: 'rsa' },
};

describe('result record', () => {
  it('reads the receiver\'s published record with a nested NEVRA and a null epoch', () => {
    const record = {
      format: 1,
      sequence: 5,
      finishedAt: '2026-01-01T00:00:00Z',
      status: 'published',
      generation: 'g',
      accepted: [
        {
          file: 'dom0-tool-2.0-1.noarch.rpm',
          nevra: { name: 'dom0-tool', epoch: null, version: '2.0', release: '1', arch: 'noarch' },
          nevraString: 'dom0-tool-2.0-1.noarch',
          sha256: 'a'.repeat(64),
          size: 1,
          signer: { fingerprint: 'c'.repeat(40) },
        },
      ],
    };
    const r = parseResultRecord(JSON.stringify(record), 'x');
    expect(r.status).toBe('accepted');
    expect(r.status === 'accepted' && r.packages[0]).toMatchObject({ nevra: 'dom0-tool-2.0-1.noarch', epoch: 0, signer: 'c'.repeat(40) });
  });

  it('reads the receiver\'s rejected record with its rejection', () => {
    const record = { format: 1, sequence: 6, finishedAt: 'x', status: 'rejected', rejection: { code: 'RPM_UNSIGNED', member: null, message: 'm' } };
    expect(parseResultRecord(JSON.stringify(record), 'x')).toEqual({
      sequence: 6,
      status: 'rejected',
      error: { code: 'RPM_UNSIGNED', member: undefined, message: 'm' },
    });
  });


  it('reads an accepted record with flat NEVRA fields and a signer object', () => {
    const r = parseResultRecord(JSON.stringify({ sequence: 3, status: 'accepted', packages: [pkg] }), 'x');
    expect(r).toEqual({
      sequence: 3,
      status: 'accepted',
      packages: [
        {
          file: pkg.file,
          name: 'dom0-tool',
          epoch: 0,
          version: '2.0',
          release: '1',
          arch: 'noarch',
          nevra: 'dom0-tool-2.0-1.noarch',
          signer: 'B'.repeat(40),
        },
      ],
    });
  });

  it('reads a nested NEVRA and shows a non-zero epoch', () => {
    const nested = { file: 'f.rpm', nevra: { name: 'n', epoch: 2, version: '1', release: '1', arch: 'x86_64' }, signer: 'K' };
    const r = parseResultRecord(JSON.stringify({ sequence: 1, status: 'accepted', packages: [nested] }), 'x');
    expect(r.status === 'accepted' && r.packages[0]?.nevra).toBe('n-2:1-1.x86_64');
  });

  it('reads a rejected record with the member and reason', () => {
    const r = parseResultRecord(
      JSON.stringify({ sequence: 4, status: 'rejected', error: { code: 'RPM_UNSIGNED', member: 'x.rpm', message: 'no signature' } }),
      'x',
    );
    expect(r).toEqual({ sequence: 4, status: 'rejected', error: { code: 'RPM_UNSIGNED', member: 'x.rpm', message: 'no signature' } });
  });

  it('reads which record this one replaced: a sequence, null for none, undefined from a receiver that does not say', () => {
    const base = { format: 1, sequence: 7, status: 'published', accepted: [] };
    expect(parseResultRecord(JSON.stringify({ ...base, replaces: 6 }), 'x').replaces).toBe(6);
    expect(parseResultRecord(JSON.stringify({ ...base, replaces: null }), 'x').replaces).toBeNull();
    expect(parseResultRecord(JSON.stringify(base), 'x').replaces).toBeUndefined();
  });

  it('refuses a replaced sequence that is not an integer below its own', () => {
    for (const replaces of [7, 8, -1, 1.5, '6', true]) {
      expect(() => parseResultRecord(JSON.stringify({ sequence: 7, replaces, status: 'accepted', packages: [] }), 'x')).toThrow(/replaces/);
    }
  });

  it('refuses malformed records', () => {
    for (const text of ['nope', '[]', '{"sequence":-1,"status":"accepted","packages":[]}', '{"sequence":1,"status":"maybe"}',
      '{"sequence":1,"status":"rejected"}', '{"sequence":1,"status":"accepted","packages":[{"file":"f"}]}']) {
      expect(() => parseResultRecord(text, 'x')).toThrow(StateError);
    }
  });

  it('refuses a rejection whose member is not a string', () => {
    const text = JSON.stringify({ sequence: 1, status: 'rejected', rejection: { code: 'RPM_SIG_BAD', member: 5, message: 'bad' } });
    expect(() => parseResultRecord(text, 'x')).toThrow(StateError);
    expect(() => parseResultRecord(text, 'x')).toThrow('x: rejection.member is not a string');
  });

  it('refuses an accepted package without its signer, which the report names for each package', () => {
    // JSON.stringify leaves the undefined signer out
    const text = JSON.stringify({ sequence: 1, status: 'published', accepted: [{ ...pkg, signer: undefined }] });
    expect(() => parseResultRecord(text, 'x')).toThrow('x: accepted[0] lacks file, name, epoch, version, release, arch or signer');
  });

  it('refuses an accepted package with a negative epoch', () => {
    for (const epoch of [-1, '-1', 1.5]) {
      const text = JSON.stringify({ sequence: 1, status: 'published', accepted: [{ ...pkg, epoch }] });
      expect(() => parseResultRecord(text, 'x'), String(epoch)).toThrow('x: accepted[0] lacks file, name, epoch, version, release, arch or signer');
    }
  });

  it('returns undefined when no batch was ever received', () => {
    expect(readResultRecord(mkdtempSync(join(tmpdir(), 'dom0-cli-result-')))).toBeUndefined();
  });

  it('reads the record from the updates dir', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-result-'));
    writeFileSync(join(dir, 'result.json'), JSON.stringify({ sequence: 9, status: 'accepted', packages: [] }));
    expect(readResultRecord(dir)?.sequence).toBe(9);
  });
});
