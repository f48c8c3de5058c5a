// What a compromised UpdateVM can send; each mode is one attack of the threat catalogue.
export const HOSTILE_MODES = [
  'unsigned',
  'untrusted-key',
  'tampered-payload',
  'path-escape',
  'symlink',
  'hardlink',
  'truncated',
  'stall',
  'flood-bytes',
  'flood-members',
  'unrequested',
  'obsoletes',
  'weak-hash',
  'absolute-path',
  'escape-in-name',
  'pax-header',
  'device',
  'duplicate-name',
  'trailing-garbage',
] as const;
export type HostileMode = (typeof HOSTILE_MODES)[number];
