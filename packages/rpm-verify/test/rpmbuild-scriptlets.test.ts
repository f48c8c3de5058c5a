import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { rpmkeysCheck } from '@dom0-updates/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyRpmFile } from '../src/file.ts';
import { fixtures, type Loaded } from './support/fixtures.ts';
import { rpmbuild, signedCopy } from './support/rpmbuild.ts';
import { NOW } from './support/verify-bytes.ts';

/** What real packages carry and the fixture set does not: scriptlets (PREINPROG as STRING), triggers, file triggers, weak deps, changelog, %config, links, dirs. */
const SPEC = `Name: richpkg
Version: 2.1
Release: 3
Epoch: 4
Summary: A package with the header parts real packages have
License: MIT
Recommends: bash
Suggests: coreutils
Supplements: richpkg-extra
Enhances: sed
Requires(post): /bin/sh
Provides: richcap = 1.0
Obsoletes: oldrich < 1
BuildArch: noarch
%description
Scriptlets, triggers, file triggers, weak dependencies, a changelog, config files, links, dirs.
%install
mkdir -p %{buildroot}/etc/rich %{buildroot}/usr/share/rich/sub %{buildroot}/usr/bin
echo conf > %{buildroot}/etc/rich/rich.conf
echo keep > %{buildroot}/etc/rich/keep.conf
echo data > %{buildroot}/usr/share/rich/data.txt
ln -s ../share/rich/data.txt %{buildroot}/usr/bin/rich-data
%pre
echo pre
%post
echo post
%preun
echo preun
%pretrans -p <lua>
print("pretrans")
%triggerin -- bash
echo trig
%filetriggerin -- /usr/share/rich
cat
%transfiletriggerpostun -- /usr/lib
echo tft
%files
%dir /etc/rich
%config /etc/rich/rich.conf
%config(noreplace) /etc/rich/keep.conf
%dir /usr/share/rich/sub
/usr/share/rich/data.txt
/usr/bin/rich-data
%changelog
* Mon Jan 01 2024 Someone <a@example.invalid> - 4:2.1-3
- third
`;

let fx: Loaded;
let work: string;
beforeAll(async () => {
  fx = await fixtures();
  work = await mkdtemp(join(tmpdir(), 'rpmv-rich-'));
}, 300_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('a package rpmbuild makes with scriptlets, triggers, weak deps and a changelog', () => {
  it('is accepted, as rpmkeys accepts it, signed by either trusted key', async () => {
    const built = await rpmbuild(work, 'rich', SPEC);
    expect(basename(built)).toBe('richpkg-2.1-3.noarch.rpm');
    for (const id of ['trusted-rsa', 'trusted-ed25519'] as const) {
      const key = fx.set.keys[id];
      const pkg = await signedCopy(built, join(work, `${id}.rpm`), key);
      expect((await rpmkeysCheck(pkg, fx.set.trustedKeyPaths)).ok).toBe(true);
      const result = await verifyRpmFile(pkg, fx.trusted, { now: new Date(Math.max(NOW.getTime(), Date.now())) });
      expect([id, result.nevraString, result.signer.fingerprint]).toEqual([id, 'richpkg-4:2.1-3.noarch', key.fingerprint.toLowerCase()]);
    }
  }, 60_000);
});
