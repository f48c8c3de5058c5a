/**
 * What each golden vector holds. `generate.ts` writes the bytes once; tests re-encode these
 * definitions and compare byte for byte, and decode the committed files.
 */
import { PROTOCOL_VERSION, type Reply, type StreamErrorCode, type UpdateRequest } from '../../src/index.ts';
import { buildTar, memberBytes, type RawMember } from '../tar-builder.ts';

export interface VectorMember {
  readonly name: string;
  readonly bytes: Uint8Array;
}

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const pattern = (length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 7 + 3) & 0xff);

/** Update streams the encoder must reproduce exactly. */
export const UPDATE_VECTORS: Readonly<Record<string, readonly VectorMember[]>> = {
  'update-empty.tar': [],
  'update-single.tar': [{ name: 'hello-1.0-1.noarch.rpm', bytes: ascii('hello\n') }],
  'update-three.tar': [
    { name: 'empty-0-0.noarch.rpm', bytes: new Uint8Array(0) },
    { name: 'block_1.2+git^20240101~rc1-3.fc37.x86_64.rpm', bytes: new Uint8Array(512).fill(0x42) },
    { name: 'odd-1.0-1.x86_64.rpm', bytes: pattern(1000) },
  ],
};

/** A GNU tar `--format=ustar` archive; decoded, not re-encoded (GNU tar writes other metadata). */
export const GNU_VECTOR = {
  file: 'update-gnu-tar-ustar.tar',
  members: [
    { name: 'gnu-a-1.0-1.noarch.rpm', bytes: ascii('written by GNU tar\n') },
    { name: 'gnu-b-1.0-1.noarch.rpm', bytes: pattern(10000) },
  ],
} as const;

export const STATE_REQUEST: UpdateRequest = {
  protocol: PROTOCOL_VERSION,
  action: 'upgrade',
  packages: [],
  enableRepos: ['qubes-dom0-current-testing'],
  disableRepos: [],
  clean: false,
  dnfOptions: ['--best'],
};

export const STATE_VECTOR = {
  file: 'state-sync-basic.tar',
  request: STATE_REQUEST,
  files: [
    { name: 'rpmdb/rpmdb.sqlite', bytes: pattern(3000) },
    { name: 'yum.repos.d/fedora.repo', bytes: ascii('[fedora]\nname=Fedora\nbaseurl=http://127.0.0.1/\ngpgcheck=1\n') },
    { name: 'dnf/dnf.conf', bytes: ascii('[main]\ngpgcheck=1\n') },
    { name: 'rpm-gpg/RPM-GPG-KEY-fedora-37-primary', bytes: ascii('-----BEGIN PGP PUBLIC KEY BLOCK-----\n') },
  ],
} as const;

export const REPLY_VECTORS: Readonly<Record<string, Reply>> = {
  'reply-accepted.jsonl': {
    protocol: PROTOCOL_VERSION,
    status: 'accepted',
    packages: [
      {
        file: 'hello-1.0-1.noarch.rpm' as never,
        nevra: 'hello-1.0-1.noarch',
        sha256: '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03',
        signer: '0123456789abcdef0123456789abcdef01234567',
      },
    ],
  },
  'reply-rejected.jsonl': {
    protocol: PROTOCOL_VERSION,
    status: 'rejected',
    packages: [],
    error: { code: 'TAR_LINK_MEMBER', member: 'x.rpm', message: 'member x.rpm: symbolic link members are not allowed' },
  },
};

const zeros = (n: number): Uint8Array => new Uint8Array(n);
const cat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const good: RawMember = { name: 'good-1.0-1.noarch.rpm', body: ascii('good\n') };
const paxBody = ascii('30 path=../../etc/cron.d/evil\n');

/** Hostile update streams and the code dom0 must reject each with. */
export const HOSTILE_VECTORS: Readonly<Record<string, { readonly code: StreamErrorCode; readonly bytes: () => Uint8Array }>> = {
  'hostile-dotdot.tar': { code: 'TAR_BAD_NAME', bytes: () => buildTar([{ name: '../x.rpm', body: ascii('x') }]) },
  'hostile-absolute.tar': { code: 'TAR_BAD_NAME', bytes: () => buildTar([{ name: '/abs/x.rpm', body: ascii('x') }]) },
  'hostile-escape-name.tar': { code: 'TAR_BAD_NAME', bytes: () => buildTar([{ name: 'a\x1b]0;pwned\x07.rpm', body: ascii('x') }]) },
  'hostile-symlink.tar': { code: 'TAR_LINK_MEMBER', bytes: () => buildTar([{ name: 'x.rpm', fields: { typeflag: '2', linkname: '/etc/shadow' } }]) },
  'hostile-hardlink.tar': { code: 'TAR_LINK_MEMBER', bytes: () => buildTar([good, { name: 'y.rpm', fields: { typeflag: '1', linkname: 'good-1.0-1.noarch.rpm' } }]) },
  'hostile-directory.tar': { code: 'TAR_UNSUPPORTED_TYPE', bytes: () => buildTar([{ name: 'd.rpm', fields: { typeflag: '5' } }]) },
  'hostile-pax-path.tar': {
    code: 'TAR_UNSUPPORTED_TYPE',
    bytes: () => buildTar([{ name: 'PaxHeaders/x', body: paxBody, fields: { typeflag: 'x' } }, { name: 'x.rpm', body: ascii('x') }]),
  },
  'hostile-gnu-longname.tar': {
    code: 'TAR_UNSUPPORTED_TYPE',
    bytes: () => buildTar([{ name: '././@LongLink', body: ascii('evil.rpm\0'), fields: { typeflag: 'L' } }, { name: 'x.rpm' }]),
  },
  'hostile-base256-size.tar': {
    code: 'TAR_BAD_NUMBER',
    bytes: () => buildTar([{ name: 'x.rpm', fields: { size: Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x00]) } }]),
  },
  'hostile-garbage-size.tar': { code: 'TAR_BAD_NUMBER', bytes: () => buildTar([{ name: 'x.rpm', body: ascii('0123456789'), fields: { size: '00000000012x' } }]) },
  'hostile-bad-checksum.tar': { code: 'TAR_BAD_CHECKSUM', bytes: () => buildTar([{ name: 'x.rpm', body: ascii('x'), checksum: '012345\0 ' }]) },
  'hostile-gnu-magic.tar': { code: 'TAR_BAD_MAGIC', bytes: () => buildTar([{ name: 'x.rpm', fields: { magic: 'ustar ', version: ' \0' } }]) },
  'hostile-duplicate.tar': { code: 'TAR_DUPLICATE_NAME', bytes: () => buildTar([good, good]) },
  'hostile-truncated-body.tar': { code: 'TAR_TRUNCATED', bytes: () => buildTar([{ name: 'x.rpm', body: pattern(2000) }]).subarray(0, 512 + 1000) },
  'hostile-missing-end.tar': { code: 'TAR_MISSING_END', bytes: () => cat(memberBytes(good)) },
  'hostile-one-zero-block.tar': { code: 'TAR_MISSING_END', bytes: () => cat([...memberBytes(good), zeros(512)]) },
  'hostile-trailing-member.tar': {
    code: 'TAR_TRAILING_DATA',
    bytes: () => cat([...memberBytes(good), zeros(1024), ...memberBytes({ name: 'late.rpm', body: ascii('late') })]),
  },
  'hostile-case-duplicate.tar': {
    code: 'TAR_DUPLICATE_NAME',
    bytes: () => buildTar([good, { name: 'GOOD-1.0-1.noarch.rpm', body: ascii('evil') }]),
  },
  'hostile-confusable-name.tar': {
    // "good" with a Cyrillic о (U+043E), as UTF-8 bytes.
    code: 'TAR_BAD_NAME',
    bytes: () => buildTar([{ name: 'g\xd0\xbeod-1.0-1.noarch.rpm', body: ascii('x') }]),
  },
  'hostile-name-nul-garbage.tar': { code: 'TAR_BAD_NAME', bytes: () => buildTar([{ name: 'a.rpm\0../../etc/passwd', body: ascii('x') }]) },
  'hostile-trailing-10241-zeros.tar': { code: 'TAR_TRAILING_DATA', bytes: () => cat([...memberBytes(good), zeros(1024 + 10241)]) },
};
