/** What the agent learns from one line of dnf's (untrusted, mirror-influenced) standard output. */
export type DnfLineEvent =
  | { readonly kind: 'resolved' }
  | { readonly kind: 'transaction-count'; readonly count: number }
  /** dnf's "Total download size", in bytes (dnf rounds it to a few digits). */
  | { readonly kind: 'download-size'; readonly bytes: number }
  | { readonly kind: 'downloading' }
  | { readonly kind: 'downloaded'; readonly file: string }
  | { readonly kind: 'available-update'; readonly name: string; readonly version: string; readonly repo: string }
  /** dnf 4's "[MIRROR] x.rpm: Curl error (7): ..." or "[FAILED] x.rpm: ...": why a package download failed. */
  | { readonly kind: 'transfer-error'; readonly line: string }
  | { readonly kind: 'matched' };

// dnf 4's transaction summary: "Total download size: 18 k" (format_number: k, M, G, T steps of 1024)
const DOWNLOAD_SIZE = /^Total download size: (\d+(?:\.\d+)?) ?([kMGT]?)\s*$/;
// dnf5's, on its stderr: "Total size of inbound packages is 110 MiB. Need to download 110 MiB."
// (whole units: one more of the unit covers its rounding)
const DNF5_DOWNLOAD_SIZE = /^Total size of inbound packages is \d+ (?:B|KiB|MiB|GiB|TiB)\. Need to download (\d+) (B|KiB|MiB|GiB|TiB)\.$/;
const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, B: 1, k: 1024, KiB: 1024, M: 1024 ** 2, MiB: 1024 ** 2, G: 1024 ** 3, GiB: 1024 ** 3, T: 1024 ** 4, TiB: 1024 ** 4 };
// dnf 4: "Upgrade  3 Packages"; dnf5: " Upgrading:          3 packages"
const COUNT = /^\s*(?:Install|Upgrade|Reinstall|Downgrade|Installing|Upgrading|Reinstalling|Downgrading):?\s+(\d+)\s+[Pp]ackages?\b/;
// dnf 4: "(1/3): name-1.0-1.noarch.rpm   1.2 MB/s | 5.4 kB  00:00" or without the counter for one package.
const DOWNLOADED = /^(?:\(\d+\/\d+\):\s+)?([^\s/]+\.rpm)\s+.*\|\s*[\d.]+\s*[kMGT]?B\s/;
const TRANSFER_ERROR = /^\[(?:MIRROR|FAILED)\] \S/;
// check-update listing: "name.arch   version-release   repo".
const UPDATE = /^([A-Za-z0-9_][^\s]*)\.([A-Za-z0-9_]+)\s+(\S+)\s+(\S+)\s*$/;

export function parseDnfLine(line: string, mode: 'download' | 'check' | 'match'): DnfLineEvent | undefined {
  // repoquery --quiet prints one package name per line and nothing else
  if (mode === 'match') return line.trim() === '' ? undefined : { kind: 'matched' };
  if (mode === 'check') {
    if (line.startsWith('Last metadata expiration check') || line.startsWith('Obsoleting')) return undefined;
    const m = UPDATE.exec(line);
    if (m?.[1] !== undefined && m[3] !== undefined && m[4] !== undefined) {
      return { kind: 'available-update', name: m[1], version: m[3], repo: m[4] };
    }
    return undefined;
  }
  if (line.startsWith('Dependencies resolved')) return { kind: 'resolved' };
  // dnf 4 prints why each package download failed on stdout; its stderr only says "Cannot download"
  if (TRANSFER_ERROR.test(line)) return { kind: 'transfer-error', line };
  if (line.startsWith('Downloading Packages')) return { kind: 'downloading' };
  const count = COUNT.exec(line);
  if (count?.[1] !== undefined) return { kind: 'transaction-count', count: Number(count[1]) };
  const size = DOWNLOAD_SIZE.exec(line);
  if (size?.[1] !== undefined) return { kind: 'download-size', bytes: Math.ceil(Number(size[1]) * (SIZE_UNITS[size[2] ?? ''] ?? 1)) };
  const done = DOWNLOADED.exec(line);
  if (done?.[1] !== undefined) return { kind: 'downloaded', file: done[1] };
  return undefined;
}

/**
 * What the agent learns from one line of dnf5's stderr, where dnf5 prints its notices (and its
 * download progress): the download's total. Anchored whole: other lines there quote a mirror.
 */
export function parseDnf5StderrLine(line: string): DnfLineEvent | undefined {
  const size = DNF5_DOWNLOAD_SIZE.exec(line);
  if (size?.[1] === undefined) return undefined;
  const unit = SIZE_UNITS[size[2] ?? ''] ?? 1;
  const whole = Number(size[1]);
  return { kind: 'download-size', bytes: whole === 0 ? 0 : Math.ceil((whole + 1) * unit) };
}

/** Names a repository from dnf's error text: dnf 4's "... for repo 'updates'", dnf5's "... for repository \"updates\"". */
function repoFrom(stderr: string): string | undefined {
  const m = /for (?:repo|repository) (?:'([^']{1,128})'|"([^"]{1,128})")/.exec(stderr);
  return m?.[1] ?? m?.[2];
}

export type DnfFailureKind =
  | { readonly kind: 'out-of-memory' }
  | { readonly kind: 'repo-unreachable'; readonly repo: string | undefined }
  | { readonly kind: 'repo-metadata-bad'; readonly repo: string | undefined }
  | { readonly kind: 'disk-full' }
  | { readonly kind: 'no-match'; readonly spec: string | undefined }
  | { readonly kind: 'package-download'; readonly packages: readonly string[] }
  | { readonly kind: 'mirror-connection'; readonly curlCode: number; readonly packages: readonly string[] }
  | { readonly kind: 'other'; readonly said: string | undefined };

/**
 * The last words of a dnf that aborted on a failed allocation under its memory limit: libsolv's
 * "Out of memory allocating N bytes!" (or "N*M bytes!"), C++'s bad_alloc (libdnf), GLib's g_malloc
 * (librepo). Only as the last line of a dnf killed by SIGABRT (GLib: SIGTRAP): a mirror's text can start a line of
 * dnf's output (libsolv keeps a newline from an XML attribute in a dependency name), but it cannot
 * come after the words of an abort.
 */
const ABORTED_OUT_OF_MEMORY = /^(?:Out of memory allocating \d+(?:\*\d+)? bytes!|\s*what\(\):\s+std::bad_alloc|(?:\(\S+\): )?GLib-ERROR \*\*: .*failed to allocate \d+ bytes)$/;

function lastLine(stderr: string): string {
  return stderr.trimEnd().split('\n').at(-1) ?? '';
}

/** dnf aborted (SIGABRT, SIGTRAP) because an allocation failed, in libsolv's, libdnf's or librepo's words. */
export function abortedOutOfMemory(stderr: string): boolean {
  return ABORTED_OUT_OF_MEMORY.test(lastLine(stderr));
}

/**
 * dnf 4 exited on Python's MemoryError, uncaught: the traceback's last line is the bare exception.
 * dnf 4 says every error it handled itself with a line that starts "Error:", which a MemoryError
 * that got away never has. dnf5 (C++) never raises one, and says "Error:" for a few cases only: not asked there.
 */
function pythonOutOfMemory(stderr: string): boolean {
  return lastLine(stderr) === 'MemoryError' && !/^Error:/m.test(stderr);
}

const DISK_FULL = /No space left on device|Disk quota exceeded|Insufficient space|not enough (?:free )?space|database or disk is full|Curl error \(23\)|Failed writing received data to disk/i;

/**
 * curl's errors for a connection that failed (not for what the mirror served), in the agent's own
 * words: the mirror's text around them is not needed to say what happened.
 */
export const CONNECTION_CURL_ERRORS: ReadonlyMap<number, string> = new Map([
  [6, "the mirror's host name could not be resolved"],
  [7, 'the mirror could not be connected to (refused or unreachable)'],
  [18, 'the connection closed before the whole file arrived'],
  [28, 'the transfer timed out'],
  [35, 'the TLS handshake with the mirror failed'],
  [52, 'the mirror closed the connection without answering'],
  [55, 'sending to the mirror failed'],
  [56, 'the connection failed while receiving (reset by the mirror or the network)'],
]);

/**
 * The error text of one of dnf's lines, without what the mirror chose: its URLs (any bytes in
 * a path) and the file or package name before the error (`[MIRROR] x.rpm: ...`, `  x: Download
 * failed: ...`), so a name or a URL holding "Curl error (23)" cannot pose as a full disk.
 */
function errorTextOf(line: string): string {
  // dnf ends such a line with " for URL [curl's detail]": the URL may hold spaces, so all of it goes
  const noUrls = line.replace(/ for [a-z][a-z0-9+.-]{0,20}:\/\/.*$/i, '').replace(/\b[a-z][a-z0-9+.-]{0,20}:\/\/\S*/gi, '<url>');
  for (const marker of ['Download failed: ', '.rpm: ']) {
    const at = noUrls.lastIndexOf(marker);
    if (at >= 0) return noUrls.slice(at + marker.length);
  }
  return noUrls;
}

function curlCodeOf(line: string): number | undefined {
  const code = /Curl error \((\d{1,3})\)/.exec(errorTextOf(line))?.[1];
  return code === undefined ? undefined : Number(code);
}

/**
 * The curl error that ended the package downloads, when every one of them was a connection
 * failure: each package dnf gave up on ("[FAILED] x.rpm") is judged by its last try ("[MIRROR]
 * x.rpm: ..."), so a package that failed its checksum and then met a closed mirror is still the
 * connection's failure. One package that failed otherwise (bad bytes, missing) makes it no
 * connection failure: a mirror must not hide bad bytes behind one reset connection.
 */
function connectionFailure(stderr: string, transferErrors: readonly string[]): number | undefined {
  const fileOf = (line: string): string => /^\[\w+\] (\S+?):? /.exec(line)?.[1] ?? '';
  const failed = new Set(transferErrors.filter((l) => l.startsWith('[FAILED] ')).map(fileOf));
  const tries = transferErrors.filter((l) => l.startsWith('[MIRROR] '));
  const lastTries = failed.size === 0 ? tries.slice(-1) : [...failed].map((file) => tries.findLast((l) => fileOf(l) === file) ?? '');
  // without dnf's stdout lines, its own list of packages not downloaded ("Download failed: Curl error (7): ...")
  const verdicts = lastTries.length > 0 ? lastTries : stderr.split('\n').filter((l) => /Cannot download|Download failed/.test(l));
  const codes = verdicts.map(curlCodeOf);
  if (codes.length === 0 || !codes.every((code) => code !== undefined && CONNECTION_CURL_ERRORS.has(code))) return undefined;
  return codes[0];
}

/**
 * Classifies a failed dnf run from its stderr, and the download errors it printed on stdout, so
 * the person is told what went wrong.
 */
export function classifyFailure(stderr: string, transferErrors: readonly string[] = [], major: 4 | 5 = 4): DnfFailureKind {
  // under the agent's memory limit every other failure after it is its consequence
  if (major === 4 && pythonOutOfMemory(stderr)) return { kind: 'out-of-memory' };
  // SQLite (dnf's history database) says a full disk as "database or disk is full" (its "disk I/O
  // error" covers any I/O failure, so it stays dnf's own words). librepo's package download that
  // cannot be written is curl's error 23 alone: librepo names its own write refusals (a header
  // callback, zchunk) in other words, so 23 is the file write failing, in practice a full disk.
  // Checked before the package block, which lists it among the packages not downloaded.
  if ([...stderr.split('\n'), ...transferErrors].some((l) => DISK_FULL.test(errorTextOf(l)))) return { kind: 'disk-full' };
  // the metadata came, a package did not: missing on the mirror, or bytes that fail its checksum
  // (dnf 4: "Error downloading packages:", dnf5: "Failed to download packages")
  if (/Error downloading packages:|^Failed to download packages$/m.test(stderr)) {
    const packages = [...stderr.matchAll(/^\s+(\S{1,200}): (?:Cannot download|Download failed)\b/gm)].map((m) => m[1] ?? '').slice(0, 20);
    // a mirror that went away (or a network that did) served nothing wrong: not its packages' fault
    const curlCode = connectionFailure(stderr, transferErrors);
    if (curlCode !== undefined) return { kind: 'mirror-connection', curlCode, packages };
    return { kind: 'package-download', packages };
  }
  // metadata that arrived but is damaged: a broken or hostile mirror, not an unreachable one
  if (/Failed to download metadata/.test(stderr) && /checksum doesn't match|repomd\.xml parser error/.test(stderr)) {
    return { kind: 'repo-metadata-bad', repo: repoFrom(stderr) };
  }
  if (/Failed to download metadata|Cannot download repomd\.xml|All mirrors were tried|Curl error|Cannot download/i.test(stderr)) {
    return { kind: 'repo-unreachable', repo: repoFrom(stderr) };
  }
  const noMatch = /No match for argument:?\s*(\S+)|Unable to find a match:?\s*(\S+)/.exec(stderr);
  if (noMatch !== null) return { kind: 'no-match', spec: noMatch[1] ?? noMatch[2] };
  // dnf's own last word on it, such as "Unknown repo: 'x'" or "There are no enabled repositories in ..."
  const said = [...stderr.matchAll(/^Error: (.+)$/gm)].at(-1)?.[1];
  return { kind: 'other', said };
}
