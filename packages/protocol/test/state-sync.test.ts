import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_STATE_SYNC_LIMITS,
  PROTOCOL_VERSION,
  RequestError,
  classifyStatePath,
  decodeStateSync,
  encodeRequest,
  encodeStateSync,
  parseRequest,
  validateRequest,
  type StateEntry,
  type UpdateRequest,
} from '../src/index.ts';
import { Capture, chunks, concat, text } from './helpers.ts';
import { buildTar, type RawMember } from './tar-builder.ts';

const request: UpdateRequest = {
  protocol: PROTOCOL_VERSION,
  action: 'install',
  packages: ['vim-enhanced', 'kernel-6.1*'],
  enableRepos: ['qubes-dom0-current-testing'],
  disableRepos: ['*'],
  clean: true,
  dnfOptions: ['--best', '--setopt=install_weak_deps=False', '--exclude=foo*'],
};

async function decodeState(bytes: Uint8Array): Promise<(StateEntry | { path: string; bytes: Uint8Array })[]> {
  const out: (StateEntry | { path: string; bytes: Uint8Array })[] = [];
  for await (const entry of decodeStateSync(chunks(bytes, 300), DEFAULT_STATE_SYNC_LIMITS)) {
    if (entry.kind === 'request') out.push(entry);
    else {
      const parts: Uint8Array[] = [];
      for await (const part of entry.body) parts.push(Uint8Array.from(part));
      out.push({ path: entry.path, bytes: concat(parts) });
    }
  }
  return out;
}

const requestMember = (r: unknown = request): RawMember => ({ name: 'request.json', body: text(`${JSON.stringify(r)}\n`) });

describe('state-sync stream', () => {
  it('round-trips the request and allow-listed state files, from bytes and from disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'state-'));
    writeFileSync(join(dir, 'db'), new Uint8Array(5000).fill(9));
    const out = new Capture();
    await encodeStateSync(
      request,
      [
        { name: 'rpmdb/rpmdb.sqlite', path: join(dir, 'db') },
        { name: 'yum.repos.d/qubes-dom0.repo', size: 3, body: [text('[x]')] },
        { name: 'dnf/dnf.conf', size: 0, body: [] },
        { name: 'rpm-gpg/RPM-GPG-KEY-qubes-4-primary', size: 4, body: [text('KEY\n')] },
      ],
      out,
    );
    expect(await decodeState(out.bytes)).toEqual([
      { kind: 'request', path: 'request.json', request },
      { path: 'rpmdb/rpmdb.sqlite', bytes: new Uint8Array(5000).fill(9) },
      { path: 'yum.repos.d/qubes-dom0.repo', bytes: text('[x]') },
      { path: 'dnf/dnf.conf', bytes: new Uint8Array(0) },
      { path: 'rpm-gpg/RPM-GPG-KEY-qubes-4-primary', bytes: text('KEY\n') },
    ]);
  });

  it('refuses to encode a path outside the allow-list or a second request.json', async () => {
    for (const name of ['etc/passwd', 'rpmdb/../x', 'request.json', 'yum.repos.d/x.conf', 'rpmdb/.lock']) {
      const out = new Capture();
      await expect(encodeStateSync(request, [{ name, size: 0, body: [] }], out)).rejects.toMatchObject({ code: 'ENCODE_BAD_NAME' });
      expect(out.bytes).toHaveLength(0);
    }
  });

  it('refuses to encode an invalid request', async () => {
    await expect(encodeStateSync({ ...request, packages: ['-rf'] }, [], new Capture())).rejects.toMatchObject({
      code: 'ENCODE_BAD_REQUEST',
    });
  });

  it('rejects a stream whose first member is not request.json', async () => {
    const bytes = buildTar([{ name: 'dnf/dnf.conf', body: text('x') }, requestMember()]);
    await expect(decodeState(bytes)).rejects.toMatchObject({ code: 'STATE_MISSING_REQUEST', member: 'dnf/dnf.conf' });
  });

  it('rejects an empty stream (no request)', async () => {
    await expect(decodeState(buildTar([]))).rejects.toMatchObject({ code: 'STATE_MISSING_REQUEST' });
  });

  it('rejects paths outside the allow-list', async () => {
    for (const name of ['rpmdb/../../etc/shadow', '/etc/yum.repos.d/x.repo', 'yum.repos.d/sub/x.repo', 'rpm-gpg/other', 'dnf/dnf.conf.d']) {
      const bytes = buildTar([requestMember(), { name, body: text('x') }]);
      await expect(decodeState(bytes), name).rejects.toMatchObject({ code: 'TAR_BAD_NAME' });
    }
  });

  it('rejects state paths that differ only in letter case as duplicates', async () => {
    const bytes = buildTar([requestMember(), { name: 'rpmdb/Packages', body: text('a') }, { name: 'rpmdb/packages', body: text('b') }]);
    await expect(decodeState(bytes)).rejects.toMatchObject({ code: 'TAR_DUPLICATE_NAME', member: 'rpmdb/packages' });
  });

  it('rejects a first member that only looks like request.json', async () => {
    for (const name of ['Request.json', 'request.JSON', 'request.json ', './request.json']) {
      await expect(decodeState(buildTar([{ name, body: text('{}\n') }])), name).rejects.toMatchObject({ code: 'TAR_BAD_NAME' });
    }
  });

  it('takes a key file name of 64 characters after RPM-GPG-KEY- and rejects one of 65', async () => {
    const named = (length: number) => buildTar([requestMember(), { name: `rpm-gpg/RPM-GPG-KEY-${'a'.repeat(length)}`, body: text('KEY\n') }]);
    expect(await decodeState(named(64))).toHaveLength(2);
    await expect(decodeState(named(65))).rejects.toMatchObject({ code: 'TAR_BAD_NAME' });
  });

  it('rejects hostile state paths: dot entries, hidden files, links, and non-ASCII', async () => {
    const cases: [RawMember, string][] = [
      [{ name: 'rpmdb/..', body: text('x') }, 'TAR_BAD_NAME'],
      [{ name: 'rpmdb/.', body: text('x') }, 'TAR_BAD_NAME'],
      [{ name: 'rpmdb/', body: text('x') }, 'TAR_BAD_NAME'],
      [{ name: 'rpmdb//x', body: text('x') }, 'TAR_BAD_NAME'],
      [{ name: 'yum.repos.d/.x.repo', body: text('x') }, 'TAR_BAD_NAME'],
      [{ name: 'rpm-gpg/RPM-GPG-KEY-\xc3\xa9', body: text('x') }, 'TAR_BAD_NAME'],
      [{ name: 'rpmdb/rpmdb.sqlite', fields: { typeflag: '2', linkname: '/etc/shadow' } }, 'TAR_LINK_MEMBER'],
      [{ name: 'rpmdb', fields: { typeflag: '5' } }, 'TAR_UNSUPPORTED_TYPE'],
    ];
    for (const [member, code] of cases) {
      await expect(decodeState(buildTar([requestMember(), member])), member.name).rejects.toMatchObject({ code });
    }
  });

  it('rejects an empty request.json as a bad request', async () => {
    await expect(decodeState(buildTar([{ name: 'request.json' }]))).rejects.toMatchObject({ code: 'STATE_BAD_REQUEST' });
  });

  it('rejects a second request.json as a duplicate', async () => {
    const bytes = buildTar([requestMember(), requestMember()]);
    await expect(decodeState(bytes)).rejects.toMatchObject({ code: 'TAR_DUPLICATE_NAME' });
  });

  it('rejects an invalid request with every problem named', async () => {
    const bytes = buildTar([requestMember({ ...request, action: 'remove', dnfOptions: ['--installroot=/'] })]);
    const error = await decodeState(bytes).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STATE_BAD_REQUEST' });
    expect((error as Error).message).toMatch(/request\.action.*request\.dnfOptions\[0\]/);
  });

  it('rejects an oversized request.json at its header', async () => {
    const bytes = buildTar([{ name: 'request.json', body: new Uint8Array(64 * 1024 + 1).fill(0x20) }]);
    await expect(decodeState(bytes)).rejects.toMatchObject({ code: 'TAR_MEMBER_TOO_LARGE' });
  });
});

describe('request.json', () => {
  it('round-trips through encodeRequest and parseRequest', () => {
    expect(parseRequest(encodeRequest(request))).toEqual(request);
  });

  it('collects every invalid field', () => {
    try {
      validateRequest({
        protocol: 'dom0-updates/0',
        action: 'install',
        packages: [],
        enableRepos: ['-x'],
        disableRepos: 'all',
        clean: 'yes',
        dnfOptions: ['--nogpgcheck', 3],
        shell: 'rm -rf /',
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(RequestError);
      const issues = (error as RequestError).issues.join('\n');
      for (const field of ['request.shell', 'request.protocol', 'request.enableRepos[0]', 'request.disableRepos', 'request.clean', 'request.dnfOptions[0]', 'request.dnfOptions[1]', 'request.packages']) {
        expect(issues).toContain(field);
      }
    }
  });

  it('rejects package names that could be read as options', () => {
    expect(() => validateRequest({ ...request, packages: ['--installroot=/'] })).toThrow(/request\.packages\[0\]/);
    expect(() => validateRequest({ ...request, packages: ['a b'] })).toThrow(RequestError);
  });

  it('rejects a --setopt value that carries a newline or another control character', () => {
    for (const option of ['--setopt=timeout=5\nexclude=*', '--setopt=timeout=5\rexclude=*', '--setopt=timeout=5\t']) {
      expect(() => validateRequest({ ...request, dnfOptions: [option] }), JSON.stringify(option)).toThrow(/request\.dnfOptions\[0\]/);
    }
    expect(validateRequest({ ...request, dnfOptions: ['--setopt=timeout=5'] }).dnfOptions).toEqual(['--setopt=timeout=5']);
  });

  it('rejects request.json that is not one JSON line', () => {
    expect(() => parseRequest(text(JSON.stringify(request)))).toThrow(expect.objectContaining({ code: 'REQUEST_BAD_JSON' }));
  });
});

const REQUEST_LINE = `${JSON.stringify({ protocol: PROTOCOL_VERSION, action: 'upgrade', packages: [], enableRepos: [], disableRepos: [], clean: false, dnfOptions: [] })}\n`;

async function stateSyncError(members: readonly RawMember[]): Promise<unknown> {
  try {
    for await (const entry of decodeStateSync(chunks(buildTar(members), 512), DEFAULT_STATE_SYNC_LIMITS)) {
      if (entry.kind !== 'request') for await (const piece of entry.body) expect(piece.length).toBeGreaterThan(0);
    }
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('state-sync paths', () => {
  it('rejects a path that climbs out of rpmdb/ from inside a component', async () => {
    for (const name of ['rpmdb/x/../../../etc/shadow', 'rpmdb/a/b', 'rpmdb/x/']) {
      expect(classifyStatePath(name), name).toHaveProperty('problem');
      const error = await stateSyncError([{ name: 'request.json', body: text(REQUEST_LINE) }, { name, body: text('x') }]);
      expect(error, name).toMatchObject({ code: 'TAR_BAD_NAME' });
    }
  });

  it('takes only the exact name request.json as the request (the dot is no wildcard)', async () => {
    for (const name of ['request_json', 'requestxjson']) {
      expect(classifyStatePath(name), name).toHaveProperty('problem');
      const error = await stateSyncError([{ name, body: text(REQUEST_LINE) }]);
      expect(error, name).toMatchObject({ code: 'TAR_BAD_NAME' });
    }
  });
});

describe('state-sync path allow-list bounds', () => {
  it('takes an rpmdb file name of 64 characters and rejects one of 65', () => {
    expect(classifyStatePath(`rpmdb/${'a'.repeat(64)}`)).toMatchObject({ kind: 'rpmdb' });
    expect(classifyStatePath(`rpmdb/${'a'.repeat(65)}`)).toHaveProperty('problem');
  });

  it('rejects a key file whose name after RPM-GPG-KEY- starts with a dot or an underscore', () => {
    expect(classifyStatePath('rpm-gpg/RPM-GPG-KEY-x')).toMatchObject({ kind: 'gpg-key' });
    for (const name of ['rpm-gpg/RPM-GPG-KEY-.hidden', 'rpm-gpg/RPM-GPG-KEY-_x', 'rpm-gpg/RPM-GPG-KEY--x']) {
      expect(classifyStatePath(name), name).toHaveProperty('problem');
    }
  });
});

describe('state-sync encoder', () => {
  it('refuses request.json from a streamed (non-array) file list as a bad name', async () => {
    async function* files(): AsyncGenerator<{ name: string; size: number; body: Uint8Array[] }> {
      yield { name: 'dnf/dnf.conf', size: 0, body: [] };
      await Promise.resolve();
      yield { name: 'request.json', size: 0, body: [] };
    }
    const request: UpdateRequest = { protocol: PROTOCOL_VERSION, action: 'upgrade', packages: [], enableRepos: [], disableRepos: [], clean: false, dnfOptions: [] };
    await expect(encodeStateSync(request, files(), new Capture())).rejects.toMatchObject({ code: 'ENCODE_BAD_NAME', member: 'request.json' });
  });
});
