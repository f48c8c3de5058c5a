import { encodeReply, formatNevra, PROTOCOL_VERSION, type Reply } from '@dom0-updates/protocol';
import type { AcceptedPackage, Rejection } from '../publish/result-record.ts';

export function acceptedReply(packages: readonly AcceptedPackage[]): Reply {
  return {
    protocol: PROTOCOL_VERSION,
    status: 'accepted',
    packages: packages.map((p) => ({
      file: p.file as Reply['packages'][number]['file'],
      nevra: formatNevra(p.nevra.epoch === 0 ? { ...p.nevra, epoch: undefined } : p.nevra),
      sha256: p.sha256,
      signer: p.signer.fingerprint,
    })),
  };
}

export function rejectedReply(rejection: Rejection): Reply {
  return {
    protocol: PROTOCOL_VERSION,
    status: 'rejected',
    packages: [],
    error: { code: rejection.code, ...(rejection.member === null ? {} : { member: rejection.member }), message: rejection.message },
  };
}

/** The one JSON line back to the UpdateVM; a sender that stopped listening is not our failure. */
export function writeReply(reply: Reply): Promise<void> {
  const bytes = encodeReply(reply);
  return new Promise((resolve) => {
    process.stdout.on('error', () => resolve());
    process.stdout.write(bytes, () => resolve());
  });
}
