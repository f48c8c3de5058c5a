/**
 * The name rules of both streams. Names are checked as text against an allow-list; anything that
 * is not plainly allowed (separators, `..`, drive letters, controls, non-ASCII) fails the rule.
 */

declare const memberNameBrand: unique symbol;
/** A name the update stream may carry: a flat `.rpm` file name that fits the ustar name field. */
export type MemberName = string & { readonly [memberNameBrand]: true };

declare const statePathBrand: unique symbol;
/** A relative path the state-sync stream may carry (see `STATE_PATH_RULES`). */
export type StatePath = string & { readonly [statePathBrand]: true };

/** ustar's name field; the prefix field is never used, so this is the whole budget. */
export const USTAR_NAME_BYTES = 100;

export const MEMBER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+^~-]{0,255}\.rpm$/;

/** Explains, in words, why `text` is not allowed; used only after a rule already failed. */
function describeFailure(text: string, allowed: string): string {
  if (text.length === 0) return 'the name is empty';
  if (text.includes('\0')) return 'the name contains a NUL byte';
  if (/[\x00-\x1f\x7f]/.test(text)) return 'the name contains a control character';
  if (/[^\x00-\x7f]/.test(text)) return 'the name contains non-ASCII characters';
  if (text.startsWith('/')) return 'the name is an absolute path';
  if (text.includes('\\')) return 'the name contains a backslash';
  if (/^[A-Za-z]:/.test(text)) return 'the name starts with a drive letter';
  if (text.split('/').includes('..')) return 'the name contains a ".." component';
  return `the name does not match ${allowed}`;
}

/**
 * The key two names of one stream collide on: names that differ only in ASCII letter case are
 * one file on a case-insensitive filesystem, so a stream may hold only one of them. Names are
 * ASCII by rule, and `toLowerCase` is locale-independent.
 */
export function foldCase(name: string): string {
  return name.toLowerCase();
}

/** Returns why `text` is not a valid update-stream member name, or undefined when it is. */
export function memberNameProblem(text: string): string | undefined {
  if (MEMBER_NAME_PATTERN.test(text)) {
    // The pattern alone allows 260 characters; ustar without a prefix holds 100 bytes.
    return text.length > USTAR_NAME_BYTES ? `the name is longer than ${USTAR_NAME_BYTES} bytes` : undefined;
  }
  if (text.includes('/')) {
    return text.startsWith('/') || text.split('/').includes('..')
      ? describeFailure(text, 'the member name rule')
      : 'the name contains a "/" (members must be flat)';
  }
  if (!/^[A-Za-z0-9]/.test(text) && text.length > 0 && /^[\x20-\x7e]*$/.test(text)) {
    return 'the name must start with a letter or digit';
  }
  if (/^[\x20-\x7e]+$/.test(text) && !text.endsWith('.rpm')) return 'the name must end in ".rpm"';
  return describeFailure(text, MEMBER_NAME_PATTERN.source);
}

export function isMemberName(text: string): text is MemberName {
  return memberNameProblem(text) === undefined;
}

/** Kinds of file the state-sync stream carries, each under its own fixed directory. */
export type StateKind = 'request' | 'rpmdb' | 'repo' | 'dnf-conf' | 'gpg-key';

export const STATE_REQUEST_PATH = 'request.json';

/** The allow-list of state-sync paths; a path must match exactly one of these. */
export const STATE_PATH_RULES: readonly { readonly kind: StateKind; readonly pattern: RegExp }[] = [
  { kind: 'request', pattern: /^request\.json$/ },
  // rpm's database files: rpmdb.sqlite, rpmdb.sqlite-shm, Packages, __db.001, ...
  { kind: 'rpmdb', pattern: /^rpmdb\/[A-Za-z0-9_][A-Za-z0-9._+-]{0,63}$/ },
  { kind: 'repo', pattern: /^yum\.repos\.d\/[A-Za-z0-9][A-Za-z0-9._+-]{0,63}\.repo$/ },
  { kind: 'dnf-conf', pattern: /^dnf\/dnf\.conf$/ },
  { kind: 'gpg-key', pattern: /^rpm-gpg\/RPM-GPG-KEY-[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/ },
];

/** Returns the kind of a valid state-sync path, or a reason why the path is not allowed. */
export function classifyStatePath(text: string): { kind: StateKind; path: StatePath } | { problem: string } {
  for (const rule of STATE_PATH_RULES) {
    if (rule.pattern.test(text)) {
      if (text.length > USTAR_NAME_BYTES) return { problem: `the path is longer than ${USTAR_NAME_BYTES} bytes` };
      return { kind: rule.kind, path: text as StatePath };
    }
  }
  return {
    problem: describeFailure(
      text,
      'the state-sync path allow-list (request.json, rpmdb/*, yum.repos.d/*.repo, dnf/dnf.conf, rpm-gpg/RPM-GPG-KEY-*)',
    ),
  };
}
