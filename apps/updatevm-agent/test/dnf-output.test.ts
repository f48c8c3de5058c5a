import { describe, expect, it } from 'vitest';
import { checkArgs, downloadArgs, matchArgs } from '../src/dnf/argv.ts';
import { majorFromVersionOutput } from '../src/dnf/detect.ts';
import { abortedOutOfMemory, classifyFailure, parseDnf5StderrLine, parseDnfLine } from '../src/dnf/output.ts';
import { dnfFailure } from '../src/dnf/run.ts';
import { workdirLayout } from '../src/installroot/paths.ts';
import { buildRequest } from '../src/request.ts';

describe('dnf output', () => {
  it('recognises the transaction size and each finished download', () => {
    expect(parseDnfLine('Upgrade  3 Packages', 'download')).toEqual({ kind: 'transaction-count', count: 3 });
    expect(parseDnfLine('Install  1 Package', 'download')).toEqual({ kind: 'transaction-count', count: 1 });
    expect(parseDnfLine('(2/3): dom0-tool-2.0-1.noarch.rpm   1.2 MB/s | 5.4 kB     00:00    ', 'download')).toEqual({
      kind: 'downloaded',
      file: 'dom0-tool-2.0-1.noarch.rpm',
    });
    expect(parseDnfLine('hello-2.0-1.noarch.rpm                          2.0 MB/s | 5.4 kB     00:00    ', 'download')).toEqual({
      kind: 'downloaded',
      file: 'hello-2.0-1.noarch.rpm',
    });
    expect(parseDnfLine('Total                                           537 kB/s | 5.4 kB     00:00', 'download')).toBeUndefined();
  });

  it("reads dnf's total download size in bytes, whatever its unit", () => {
    expect(parseDnfLine('Total download size: 18 k', 'download')).toEqual({ kind: 'download-size', bytes: 18 * 1024 });
    expect(parseDnfLine('Total download size: 1.5 M', 'download')).toEqual({ kind: 'download-size', bytes: 1.5 * 1024 * 1024 });
    expect(parseDnfLine('Total download size: 2.1 G', 'download')).toEqual({ kind: 'download-size', bytes: Math.ceil(2.1 * 1024 ** 3) });
    expect(parseDnfLine('Total download size: 512', 'download')).toEqual({ kind: 'download-size', bytes: 512 });
    expect(parseDnfLine('Total download size: lots', 'download')).toBeUndefined();
  });

  it("reads dnf5's total from its stderr line alone, in whole units plus one", () => {
    // dnf5 prints whole units: one more of the unit covers its rounding
    expect(parseDnf5StderrLine('Total size of inbound packages is 110 MiB. Need to download 110 MiB.')).toEqual({ kind: 'download-size', bytes: 111 * 1024 * 1024 });
    expect(parseDnf5StderrLine('Total size of inbound packages is 2 GiB. Need to download 1 GiB.')).toEqual({ kind: 'download-size', bytes: 2 * 1024 ** 3 });
    // nothing to download is nothing, not one unit
    expect(parseDnf5StderrLine('Total size of inbound packages is 5 MiB. Need to download 0 B.')).toEqual({ kind: 'download-size', bytes: 0 });
    // other stderr lines quote a mirror: only the whole line counts
    expect(parseDnf5StderrLine('Failed to download a-1-1.noarch: Need to download 9 TiB.')).toBeUndefined();
    expect(parseDnf5StderrLine(' Total size of inbound packages is 5 MiB. Need to download 1 MiB.')).toBeUndefined();
    // never on stdout
    expect(parseDnfLine('Total size of inbound packages is 110 MiB. Need to download 110 MiB.', 'download')).toBeUndefined();
  });

  it("counts dnf5's transaction summary too", () => {
    expect(parseDnfLine(' Upgrading:          3 packages', 'download')).toEqual({ kind: 'transaction-count', count: 3 });
    expect(parseDnfLine(' Installing:         1 package', 'download')).toEqual({ kind: 'transaction-count', count: 1 });
    expect(parseDnfLine(' Removing:           2 packages', 'download')).toBeUndefined();
  });

  it('calls a dnf that aborted on a failed allocation out of memory, in the last words of libsolv, libdnf or librepo', () => {
    for (const said of [
      'Out of memory allocating 513392715 bytes!',
      'Out of memory allocating 4096*131072 bytes!',
      "terminate called after throwing an instance of 'std::bad_alloc'\n  what():  std::bad_alloc",
      '(process:4242): GLib-ERROR **: 14:00:00.000: ../../../glib/gmem.c:106: failed to allocate 1073741824 bytes',
    ]) {
      expect(abortedOutOfMemory(`Unable to detect release version\n${said}\n`), said).toBe(true);
    }
    // a mirror's text can start a line (a newline inside a dependency name), but not end an abort
    expect(abortedOutOfMemory('Out of memory allocating 5 bytes!\nassertion failed: lr_repoconf')).toBe(false);
    expect(abortedOutOfMemory('Error:\n Problem: nothing provides x\nOut of memory allocating 5 bytes! >= 2.0 needed by a-2.0-1.noarch')).toBe(false);
  });

  it("calls a dnf that exited on Python's uncaught MemoryError DNF_OUT_OF_MEMORY, and nothing a mirror can write", () => {
    const traceback = 'Traceback (most recent call last):\n  File "/usr/lib/python3/dist-packages/dnf/base.py", line 1, in fill_sack\nMemoryError';
    expect(classifyFailure(`Unable to detect release version\n${traceback}`)).toEqual({ kind: 'out-of-memory' });
    const error = dnfFailure({ exitCode: 1, stderr: traceback, maxMemoryBytes: 3 * 1024 ** 3 }, 'downloading updates');
    expect(error.code).toBe('DNF_OUT_OF_MEMORY');
    expect(error.message).toContain("dnf ran out of memory under the agent's limit of 3.00 GiB and ended there");
    expect(error.message).toContain('raise --max-dnf-memory in the UpdateVM');
    // a requires name "nothere&#10;MemoryError" from primary.xml, printed in dnf's own error: not memory
    const planted = "Error: \n Problem: cannot install the best update candidate for package dom0-hello-1.0-1.noarch\n  - nothing provides nothere\nMemoryError >= 2.0 needed by dom0-hello-2.0-1.noarch";
    expect(classifyFailure(planted).kind).toBe('other');
    expect(classifyFailure('Error:\n - nothing provides nothere\nMemoryError').kind).toBe('other');
    expect(classifyFailure('Error: Failed to download metadata for repo \'f\': Curl error (23): Failed writing\nMemoryError').kind).not.toBe('out-of-memory');
    expect(classifyFailure("Error: Unknown repo: 'MemoryError'").kind).toBe('other');
    // dnf5 is C++ and says no "Error:": a bare MemoryError line there is a mirror's text
    expect(classifyFailure('Failed to resolve the transaction:\nProblem: nothing provides nothere\nMemoryError', [], 5).kind).toBe('other');
    expect(classifyFailure('Out of memory allocating 5 bytes!').kind).toBe('other');
  });

  it("takes SQLite's words for a full disk in dnf's history database as a full disk, and no other I/O error", () => {
    expect(classifyFailure('SQLite error on "/w/root/var/lib/dnf/history.sqlite": Executing an SQL statement failed: database or disk is full')).toEqual({ kind: 'disk-full' });
    // any I/O failure: dnf's own words, not a guess
    expect(classifyFailure('SQLite error on "/w/root/var/lib/dnf/history.sqlite": Executing an SQL statement failed: disk I/O error').kind).toBe('other');
  });

  it('takes a package download that could not be written (curl error 23, a full agent workdir) as a full disk, not a bad mirror', () => {
    // dnf 4 with the agent's workdir on a full tmpfs
    const stderr = [
      'Error: Error downloading packages:',
      '  dom0-hello-4.0-1.noarch: Download failed: Curl error (23): Failed writing received data to disk/application for http://127.0.0.1:18081/dom0-hello-4.0-1.noarch.rpm [Failure writing output to destination]',
    ].join('\n');
    expect(classifyFailure(stderr)).toEqual({ kind: 'disk-full' });
    const error = dnfFailure({ exitCode: 1, stderr }, 'downloading updates');
    expect(error.code).toBe('DISK_FULL');
    expect(error.message).not.toContain('no mirror served');
    expect(classifyFailure("Error: Failed to download metadata for repo 'f': Cannot download repomd.xml: Curl error (23): Failed writing received data to disk/application").kind).toBe('disk-full');
    expect(classifyFailure('OSError: [Errno 122] Disk quota exceeded').kind).toBe('disk-full');
  });

  it('says a mirror that went away mid-download could not be reached (dnf 4 names the curl error on stdout only), not that it served bad bytes', () => {
    const stdout = [
      '[MIRROR] dom0-hello-2.0-1.noarch.rpm: Curl error (52): Server returned nothing (no headers, no data) for http://127.0.0.1:42495/dom0-hello-2.0-1.noarch.rpm [Empty reply from server]',
      '[MIRROR] dom0-tool-2.0-1.noarch.rpm: Curl error (56): Failure when receiving data from the peer for http://127.0.0.1:42495/dom0-tool-2.0-1.noarch.rpm [Recv failure: Connection reset by peer]',
      "[MIRROR] dom0-hello-2.0-1.noarch.rpm: Curl error (7): Couldn't connect to server for http://127.0.0.1:42495/dom0-hello-2.0-1.noarch.rpm [Failed to connect to 127.0.0.1 port 42495 after 0 ms: Couldn't connect to server]",
      '[FAILED] dom0-hello-2.0-1.noarch.rpm: No more mirrors to try - All mirrors were already tried without success',
    ];
    const events = stdout.map((line) => parseDnfLine(line, 'download'));
    expect(events.every((e) => e?.kind === 'transfer-error')).toBe(true);
    const stderr = 'Error: Error downloading packages:\n  dom0-hello-2.0-1.noarch: Cannot download, all mirrors were already tried without success';
    // the package dnf gave up on is judged by its last try: connection refused
    expect(classifyFailure(stderr, stdout)).toEqual({ kind: 'mirror-connection', curlCode: 7, packages: ['dom0-hello-2.0-1.noarch'] });
    const error = dnfFailure({ exitCode: 1, stderr, transferErrors: stdout }, 'downloading updates');
    expect(error.code).toBe('REPO_UNREACHABLE');
    expect(error.message).toContain('the mirror could not be reached, or the connection to it failed, while downloading updates: the mirror could not be connected to (refused or unreachable) (curl error 7) for dom0-hello-2.0-1.noarch');
    expect(error.message).not.toContain('missing there');
    // the lines that say why are shown, dnf's stderr alone does not
    expect(error.message).toContain("Curl error (7): Couldn't connect to server");
    // a timeout on the last try is the connection's failure too; a 404 or a bad checksum is not
    const timedOut = ['[MIRROR] a.rpm: Status code: 404 for http://m/a.rpm', '[MIRROR] a.rpm: Curl error (28): Timeout was reached for http://m/a.rpm [Operation too slow]', '[FAILED] a.rpm: No more mirrors to try'];
    expect(classifyFailure(stderr, timedOut)).toMatchObject({ kind: 'mirror-connection', curlCode: 28 });
    const missing = ['[MIRROR] a.rpm: Curl error (56): Failure when receiving data from the peer', '[MIRROR] a.rpm: Status code: 404 for http://m/a.rpm (IP: 127.0.0.1)', '[FAILED] a.rpm: No more mirrors to try'];
    expect(classifyFailure(stderr, missing).kind).toBe('package-download');
  });

  it('calls a batch where one package failed on its bytes and another on its connection a package failure, so a reset cannot hide bad bytes', () => {
    const stderr = [
      'Error: Error downloading packages:',
      '  a-1-1.noarch: Cannot download, all mirrors were already tried without success',
      '  b-1-1.noarch: Cannot download, all mirrors were already tried without success',
    ].join('\n');
    const mixed = [
      '[MIRROR] a-1-1.noarch.rpm: Interrupted by header callback: Server reports Content-Length: 9 but expected size is: 5',
      '[FAILED] a-1-1.noarch.rpm: No more mirrors to try - All mirrors were already tried without success',
      '[MIRROR] b-1-1.noarch.rpm: Curl error (56): Failure when receiving data from the peer for http://m/b-1-1.noarch.rpm [Connection reset by peer]',
      '[FAILED] b-1-1.noarch.rpm: No more mirrors to try - All mirrors were already tried without success',
    ];
    expect(classifyFailure(stderr, mixed)).toEqual({ kind: 'package-download', packages: ['a-1-1.noarch', 'b-1-1.noarch'] });
    // each failed by its connection: the connection's failure
    const both = mixed.map((l) => l.replace('Interrupted by header callback: Server reports Content-Length: 9 but expected size is: 5', 'Curl error (56): Failure when receiving data from the peer'));
    expect(classifyFailure(stderr, both)).toMatchObject({ kind: 'mirror-connection', curlCode: 56 });
  });

  it('does not take "Curl error (23)" in a URL or a file name the mirror chose for a full disk', () => {
    const stderr = 'Error: Error downloading packages:\n  x-1-1.noarch: Cannot download, all mirrors were already tried without success';
    const spoofed = [
      '[MIRROR] x-1-1.noarch.rpm: Status code: 404 for http://m/Curl error (23)/No space left on device/x-1-1.noarch.rpm (IP: 127.0.0.1)',
      '[FAILED] x-1-1.noarch.rpm: No more mirrors to try - All mirrors were already tried without success',
    ];
    expect(classifyFailure(stderr, spoofed).kind).toBe('package-download');
    const named = '[MIRROR] Curl error (23) x.rpm: Status code: 404 for http://m/x.rpm';
    expect(classifyFailure(stderr, [named]).kind).toBe('package-download');
    // the real one still is
    expect(classifyFailure(stderr, ['[MIRROR] x-1-1.noarch.rpm: Curl error (23): Failed writing received data to disk/application for http://m/x.rpm']).kind).toBe('disk-full');
  });

  it('lists updates from check-update', () => {
    expect(parseDnfLine('dom0-hello.noarch                 2.0-1                 fixture', 'check')).toEqual({
      kind: 'available-update',
      name: 'dom0-hello',
      version: '2.0-1',
      repo: 'fixture',
    });
    expect(parseDnfLine('Last metadata expiration check: 0:00:05 ago on Sun Nov 29 21:39:18 2026.', 'check')).toBeUndefined();
  });

  it('tells an unreachable repository from a full disk and a missing package', () => {
    expect(classifyFailure("Error: Failed to download metadata for repo 'fixture': Cannot download repomd.xml")).toEqual({
      kind: 'repo-unreachable',
      repo: 'fixture',
    });
    expect(classifyFailure('[Errno 28] No space left on device')).toEqual({ kind: 'disk-full' });
    expect(classifyFailure('No match for argument: nope\nError: Unable to find a match: nope')).toEqual({
      kind: 'no-match',
      spec: 'nope',
    });
    expect(classifyFailure('Error: something else')).toEqual({ kind: 'other', said: 'something else' });
    // dnf's last Error line is what the person is told
    expect(classifyFailure("Error: first\nmore\nError: Unknown repo: 'nosuch'")).toEqual({ kind: 'other', said: "Unknown repo: 'nosuch'" });
    expect(classifyFailure('dnf crashed')).toEqual({ kind: 'other', said: undefined });
    // dnf 4 when a mirror's metadata lists a package it then serves missing or corrupted
    expect(
      classifyFailure(
        'Error: Error downloading packages:\n  dom0-hello-2.0-1.noarch: Cannot download, all mirrors were already tried without success\n  dom0-tool-2.0-1.noarch: Cannot download, all mirrors were already tried without success',
      ),
    ).toEqual({ kind: 'package-download', packages: ['dom0-hello-2.0-1.noarch', 'dom0-tool-2.0-1.noarch'] });
  });

  it("reads dnf5's words for a package download that failed and for a repository", () => {
    expect(classifyFailure('Failed to download packages\n Librepo error: Status code: 404 for http://127.0.0.1/a.rpm', [], 5).kind).toBe('package-download');
    expect(classifyFailure('Failed to download metadata (metalink: "<none>") for repository "fixtures"\n Librepo error: Curl error (7): Couldn\'t connect', [], 5)).toEqual({
      kind: 'repo-unreachable',
      repo: 'fixtures',
    });
  });

  it('tells metadata that arrived damaged (dnf 4 with a corrupted primary, a garbage repomd.xml) from an unreachable mirror', () => {
    const checksum = [
      "Errors during downloading metadata for repository 't':",
      "  - Downloading successful, but checksum doesn't match. Calculated: a725(sha256)  Expected: 30ee(sha256) ",
      "Error: Failed to download metadata for repo 't': Yum repo downloading error: Downloading error(s): repodata/30ee-primary.xml.gz - Cannot download, all mirrors were already tried without success",
    ].join('\n');
    expect(classifyFailure(checksum)).toEqual({ kind: 'repo-metadata-bad', repo: 't' });
    const garbage = "Error: Failed to download metadata for repo 't': repomd.xml parser error: Parse error at line: 1 (Document is empty\n)";
    expect(classifyFailure(garbage)).toEqual({ kind: 'repo-metadata-bad', repo: 't' });
  });

  it('reads the major version from dnf --version', () => {
    expect(majorFromVersionOutput('4.14.0\n  Installed: dnf-0:4.14.0')).toBe(4);
    expect(majorFromVersionOutput('dnf5 version 5.2.8.1\n')).toBe(5);
    expect(majorFromVersionOutput('yum 3.4')).toBeUndefined();
  });
});

describe('dnf argument arrays', () => {
  const layout = workdirLayout('/w');
  const request = buildRequest({ packages: ['dom0-hello'], enableRepos: ['testing'], dnfOptions: ['--security'] });

  it('keeps every path inside the workdir and downloads into the run directory (dnf 4)', () => {
    const args = downloadArgs({ path: '/usr/bin/dnf', major: 4 }, layout, request, '/w/runs/run-1', '40');
    expect(args).toEqual(
      expect.arrayContaining([
        '-y',
        '--noplugins',
        '--installroot=/w/root',
        '--config=/w/root/etc/dnf/dnf.conf',
        '--setopt=reposdir=/w/root/etc/yum.repos.d',
        '--setopt=cachedir=/w/cache',
        '--setopt=protected_packages=',
        '--setopt=skip_if_unavailable=False',
        '--setopt=*.skip_if_unavailable=False',
        '--releasever=40',
        '--enablerepo=testing',
        '--security',
        '--refresh',
        '--best',
        '--allowerasing',
        '--downloadonly',
        '--downloaddir=/w/runs/run-1',
      ]),
    );
    expect(args.slice(-2)).toEqual(['install', 'dom0-hello']);
  });

  const dnf5 = { path: '/usr/bin/dnf5', major: 5 } as const;

  it('puts the command first for dnf5, which takes a command\'s own options only after it, in dnf5\'s spellings', () => {
    const own = buildRequest({
      action: 'upgrade',
      packages: ['dom0-hello'],
      enableRepos: ['testing'],
      disableRepos: ['updates'],
      dnfOptions: ['--nobest', '--nodocs', '--skip-broken', '--verbose', '--cve=CVE-2026-1', '--exclude=kernel*'],
    });
    expect(downloadArgs(dnf5, layout, own, '/w/runs/run-1', '40')).toEqual([
      'upgrade',
      '-y',
      '--no-plugins',
      '--installroot=/w/root',
      '--config=/w/root/etc/dnf/dnf.conf',
      '--setopt=reposdir=/w/root/etc/yum.repos.d',
      '--setopt=cachedir=/w/cache',
      '--setopt=protected_packages=',
      '--setopt=skip_if_unavailable=False',
      '--setopt=*.skip_if_unavailable=False',
      '--releasever=40',
      '--enable-repo=testing',
      '--disable-repo=updates',
      '--no-best',
      '--no-docs',
      // upgrade has no --skip-broken of its own, and would refuse it; the setting it takes (and ignores)
      '--setopt=skip_broken=True',
      '--cves=CVE-2026-1',
      '--exclude=kernel*',
      '--refresh',
      '--allowerasing',
      '--downloadonly',
      // install, reinstall and downgrade have no --destdir: without the setting the packages stay in dnf5's cache
      '--setopt=destdir=/w/runs/run-1',
      'dom0-hello',
    ]);
  });

  it('keeps a user\'s --quiet out of the download, whose total bounds it, for either dnf', () => {
    const own = buildRequest({ packages: ['dom0-hello'], dnfOptions: ['--quiet', '-q'] });
    for (const dnf of [dnf5, { path: '/usr/bin/dnf', major: 4 } as const]) {
      const args = downloadArgs(dnf, layout, own, '/d', undefined);
      expect(args).not.toContain('--quiet');
      expect(args).not.toContain('-q');
      expect(checkArgs(dnf, layout, own, undefined)).toContain('--quiet');
    }
  });

  it('leaves out of dnf5\'s check and match what their commands refuse, and --verbose, which dnf5 does not have', () => {
    const own = buildRequest({ packages: ['dom0-hello'], dnfOptions: ['--allowerasing', '--refresh', '--verbose', '--quiet'] });
    const check = checkArgs(dnf5, layout, own, undefined);
    expect(check[0]).toBe('check-upgrade');
    expect(check.at(-1)).toBe('dom0-hello');
    expect(check).not.toContain('--allowerasing');
    expect(check).not.toContain('--verbose');
    expect(check).toContain('--refresh');
    const match = matchArgs(dnf5, layout, own, undefined, 'dom0-hello');
    expect(match[0]).toBe('repoquery');
    expect(match.slice(-3)).toEqual(['--queryformat', '%{name}\n', 'dom0-hello']);
    // --cacheonly beside --refresh is an error in dnf5
    expect(match).toContain('--cacheonly');
    expect(match).not.toContain('--refresh');
    expect(match).toContain('--quiet');
    expect(match).not.toContain('--allowerasing');
  });

  it('keeps dnf 4\'s order and spellings: options, command, packages', () => {
    const args = downloadArgs({ path: '/usr/bin/dnf', major: 4 }, layout, request, '/d', undefined);
    expect(args.slice(-2)).toEqual(['install', 'dom0-hello']);
    expect(args).toContain('--noplugins');
    expect(args).toContain('--enablerepo=testing');
    expect(args).toContain('--downloaddir=/d');
    const match = matchArgs({ path: '/usr/bin/dnf', major: 4 }, layout, request, undefined, 'x');
    expect(match.slice(-4)).toEqual(['repoquery', '--queryformat', '%{name}\n', 'x']);
  });

  it('asks for --best unless the user gave --nobest or --best, which dnf 4 would refuse beside it', () => {
    const bestFlags = (dnfOptions: string[]): string[] =>
      downloadArgs({ path: 'dnf', major: 4 }, layout, buildRequest({ dnfOptions }), '/d', undefined).filter((a) => a === '--best' || a === '--nobest');
    expect(bestFlags([])).toEqual(['--best']);
    expect(bestFlags(['--nobest'])).toEqual(['--nobest']);
    expect(bestFlags(['--best'])).toEqual(['--best']);
  });

  it('lets a person-given --releasever win', () => {
    const own = buildRequest({ dnfOptions: ['--releasever=39'] });
    const args = checkArgs({ path: 'dnf', major: 4 }, layout, own, '40');
    expect(args.filter((a) => a.startsWith('--releasever'))).toEqual(['--releasever=39']);
  });
});
