import * as openpgp from 'openpgp';
import type { AlgorithmInfo } from 'openpgp';

export const MIN_RSA_BITS = 2048;

/** OpenPGP.js settings for every check we hand to it: our allow-lists, never its defaults alone. */
export const OPENPGP_CONFIG: openpgp.PartialConfig = {
  minRSABits: MIN_RSA_BITS,
  rejectHashAlgorithms: new Set([openpgp.enums.hash.md5, openpgp.enums.hash.sha1, openpgp.enums.hash.ripemd, openpgp.enums.hash.sha224]),
  rejectMessageHashAlgorithms: new Set([openpgp.enums.hash.md5, openpgp.enums.hash.sha1, openpgp.enums.hash.ripemd, openpgp.enums.hash.sha224]),
  allowInsecureVerificationWithReformattedKeys: false,
};

export type KeyVerdict = { ok: true } | { ok: false; weak: boolean; reason: string };

/** Allow-list of key types rpm 4.18 verifies and we trust: RSA >= 2048 bits, Ed25519 (legacy EdDSA). */
export function judgeKeyAlgorithm(info: AlgorithmInfo): KeyVerdict {
  switch (info.algorithm) {
    case 'rsaEncryptSign':
    case 'rsaSign': {
      const bits = info.bits ?? 0;
      return bits >= MIN_RSA_BITS ? { ok: true } : { ok: false, weak: true, reason: `RSA key of ${bits} bits (minimum ${MIN_RSA_BITS})` };
    }
    case 'eddsaLegacy':
      return info.curve === 'ed25519Legacy' ? { ok: true } : { ok: false, weak: false, reason: `EdDSA curve ${String(info.curve)}` };
    case 'dsa':
      return { ok: false, weak: true, reason: 'DSA key' };
    default:
      return { ok: false, weak: false, reason: `${info.algorithm} key` };
  }
}
