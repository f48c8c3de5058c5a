import { MEMBER_NAME_PATTERN, type DecodeLimits } from '@dom0-updates/protocol';
import type { ChecksumCacheKey } from '../publish/checksum-cache.ts';
import type { AcceptedPackage, Rejection } from '../publish/batch-outcome.ts';

/**
 * The contract of the channel (src/stage/channel.ts) between the receiver and its
 * decode-and-verify child. The child handles untrusted bytes, so the parent parses what it says
 * as strictly as any other input.
 */
export interface StageConfig {
  readonly limits: DecodeLimits;
  readonly armoredKeys: readonly string[];
  /** ISO 8601 reference date for key and signature time checks. */
  readonly now: string;
}

export type StageMessage =
  /** First message: the stage's code runs (so a missing one means it never started). */
  | { readonly kind: 'ready' }
  /** cacheKey: derived from the verified headers; a wrong one only misses createrepo_c's cache */
  | { readonly kind: 'accepted'; readonly package: AcceptedPackage; readonly cacheKey: ChecksumCacheKey | null }
  | { readonly kind: 'complete'; readonly members: number }
  | { readonly kind: 'rejected'; readonly rejection: Rejection };

/** Longest line the parent reads from the stage: every valid message is far below it. */
export const MAX_STAGE_MESSAGE_BYTES = 64 * 1024;
/** Where a rejection's member and message are cut (they are shown sanitised, never parsed). */
export const MAX_REJECTION_MEMBER = 300;
export const MAX_REJECTION_MESSAGE = 4096;

export class StageMessageError extends Error {
  readonly code = 'STAGE_PROTOCOL';
}

const SHA256 = /^[0-9a-f]{64}$/;
const FINGERPRINT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;
const NEVRA_PART = /^[A-Za-z0-9._+^~-]{1,256}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

type Rec = Record<string, unknown>;

function record(value: unknown, what: string, keys: readonly string[]): Rec {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new StageMessageError(`${what} is not an object`);
  const rec = value as Rec;
  for (const key of Object.keys(rec)) if (!keys.includes(key)) throw new StageMessageError(`${what} has unexpected field ${key}`);
  return rec;
}

function text(value: unknown, what: string, pattern: RegExp): string {
  if (typeof value !== 'string' || !pattern.test(value)) throw new StageMessageError(`${what} is malformed`);
  return value;
}

function count(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new StageMessageError(`${what} is not a count`);
  return value;
}

function parsePackage(value: unknown): AcceptedPackage {
  const pkg = record(value, 'package', ['file', 'nevra', 'nevraString', 'sha256', 'size', 'signer']);
  const nevra = record(pkg['nevra'], 'package.nevra', ['name', 'epoch', 'version', 'release', 'arch']);
  const signer = record(pkg['signer'], 'package.signer', ['fingerprint']);
  return {
    file: text(pkg['file'], 'package.file', MEMBER_NAME_PATTERN),
    nevra: {
      name: text(nevra['name'], 'nevra.name', NEVRA_PART),
      epoch: count(nevra['epoch'], 'nevra.epoch'),
      version: text(nevra['version'], 'nevra.version', NEVRA_PART),
      release: text(nevra['release'], 'nevra.release', NEVRA_PART),
      arch: text(nevra['arch'], 'nevra.arch', NEVRA_PART),
    },
    nevraString: text(pkg['nevraString'], 'package.nevraString', /^[A-Za-z0-9._+^~:-]{1,1100}$/),
    sha256: text(pkg['sha256'], 'package.sha256', SHA256),
    size: count(pkg['size'], 'package.size'),
    signer: { fingerprint: text(signer['fingerprint'], 'signer.fingerprint', FINGERPRINT) },
  };
}

function parseCacheKey(value: unknown): ChecksumCacheKey | null {
  if (value === null) return null;
  const key = record(value, 'cacheKey', ['key', 'installedSize']);
  return { key: text(key['key'], 'cacheKey.key', SHA256), installedSize: count(key['installedSize'], 'cacheKey.installedSize') };
}

/** Parses one message from the child; anything off-contract is a STAGE_PROTOCOL failure. */
export function parseStageMessage(value: unknown): StageMessage {
  const msg = record(value, 'message', ['kind', 'package', 'cacheKey', 'members', 'rejection']);
  switch (msg['kind']) {
    case 'ready':
      if (Object.keys(msg).length !== 1) throw new StageMessageError('ready carries fields');
      return { kind: 'ready' };
    case 'accepted':
      return { kind: 'accepted', package: parsePackage(msg['package']), cacheKey: parseCacheKey(msg['cacheKey']) };
    case 'complete':
      return { kind: 'complete', members: count(msg['members'], 'members') };
    case 'rejected': {
      const rej = record(msg['rejection'], 'rejection', ['code', 'member', 'message']);
      const member = rej['member'];
      if (member !== null && typeof member !== 'string') throw new StageMessageError('rejection.member is malformed');
      if (typeof rej['message'] !== 'string') throw new StageMessageError('rejection.message is malformed');
      // member and message are sanitised again wherever they are shown
      return {
        kind: 'rejected',
        rejection: { code: text(rej['code'], 'rejection.code', CODE), member: member === null ? null : member.slice(0, MAX_REJECTION_MEMBER), message: rej['message'].slice(0, MAX_REJECTION_MESSAGE) },
      };
    }
    default:
      throw new StageMessageError('unknown message kind');
  }
}

/** Parses the parent's configuration in the child (trusted, but checked so mistakes fail loudly). */
export function parseStageConfig(value: unknown): StageConfig {
  const cfg = record(value, 'config', ['limits', 'armoredKeys', 'now']);
  const lim = record(cfg['limits'], 'config.limits', ['maxMembers', 'maxMemberBytes', 'maxTotalBytes', 'idleTimeoutMs', 'overallTimeoutMs']);
  const keys = cfg['armoredKeys'];
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k): k is string => typeof k === 'string')) {
    throw new StageMessageError('config.armoredKeys is malformed');
  }
  return {
    limits: {
      maxMembers: count(lim['maxMembers'], 'maxMembers'),
      maxMemberBytes: count(lim['maxMemberBytes'], 'maxMemberBytes'),
      maxTotalBytes: count(lim['maxTotalBytes'], 'maxTotalBytes'),
      idleTimeoutMs: count(lim['idleTimeoutMs'], 'idleTimeoutMs'),
      overallTimeoutMs: count(lim['overallTimeoutMs'], 'overallTimeoutMs'),
    },
    armoredKeys: keys,
    now: text(cfg['now'], 'config.now', ISO),
  };
}
