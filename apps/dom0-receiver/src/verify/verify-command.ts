import { sanitizeForTerminal } from '@dom0-updates/protocol';
import { RpmVerifyError, verifyRpmFile } from '@dom0-updates/rpm-verify';
import type { VerifyArgs } from '../cli/args.ts';
import { loadKeyringFiles } from '../config/keyring-files.ts';
import { ReceiverError } from '../errors.ts';
import { bareReason } from '../output/reason.ts';
import { writeResultOutput } from '../output/stdout.ts';

/**
 * `verify`: one verdict line per file on stdout,
 *   `<file>: OK <nevra> sha256=<hex> signer=<fingerprint>` or `<file>: REJECTED <CODE> <reason>`.
 * Exit 0 only when every file verifies.
 */
export async function verifyCommand(args: VerifyArgs): Promise<number> {
  let keyring;
  try {
    ({ keyring } = await loadKeyringFiles(args.keyrings));
  } catch (error) {
    const code = error instanceof ReceiverError || error instanceof RpmVerifyError ? error.code : 'KEYRING_UNREADABLE';
    process.stderr.write(`dom0-receiver: ${code}: ${sanitizeForTerminal(bareReason((error as Error).message, code, undefined))}\n`);
    return 1;
  }
  const now = args.now ?? new Date();
  let failures = 0;
  let outputLost = false;
  for (const file of args.files) {
    const shown = sanitizeForTerminal(file, 1024);
    let line: string;
    try {
      const pkg = await verifyRpmFile(file, keyring, { now });
      line = `${shown}: OK ${pkg.nevraString} sha256=${pkg.sha256} signer=${pkg.signer.fingerprint}`;
    } catch (error) {
      failures += 1;
      const code = error instanceof RpmVerifyError ? error.code : 'RPM_IO';
      const member = error instanceof RpmVerifyError ? error.member : undefined;
      line = `${shown}: REJECTED ${code} ${sanitizeForTerminal(bareReason((error as Error).message, code, member), 2048)}`;
    }
    // after a lost write the rest would be lost too (and reported once per line)
    if (!outputLost && !(await writeResultOutput(`${line}\n`))) outputLost = true;
  }
  return failures === 0 && !outputLost ? 0 : 1;
}
