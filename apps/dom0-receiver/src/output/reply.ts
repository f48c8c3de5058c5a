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

/**
 * Rejections that are a verdict on what the sender sent (its stream, its packages, its call) or
 * that it caused (a stall, a signal): their reason goes back to it. Any other failure is dom0's
 * own (its configuration, keys, file systems, tools), and its message, which can name dom0's paths,
 * stays in dom0's log and result record; the sender gets the code alone.
 */
const VERDICT_ON_INPUT = /^(?:TAR_|RPM_|VERSION_)|^(?:SENDER_NOT_ALLOWED|STAGE_TIMEOUT|RECEIVE_INTERRUPTED)$/;
const DOM0_INTERNAL = new Set(['RPM_IO', 'RPM_STATE', 'TAR_SOURCE_ERROR']);

function isVerdictOnInput(code: string): boolean {
  return VERDICT_ON_INPUT.test(code) && !DOM0_INTERNAL.has(code);
}

export function rejectedReply(rejection: Rejection): Reply {
  const message = isVerdictOnInput(rejection.code) ? rejection.message : "dom0 could not take the batch; the reason is in dom0's log";
  return {
    protocol: PROTOCOL_VERSION,
    status: 'rejected',
    packages: [],
    error: { code: rejection.code, ...(rejection.member === null ? {} : { member: rejection.member }), message },
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
