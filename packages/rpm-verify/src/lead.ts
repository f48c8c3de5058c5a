import { RpmVerifyError } from './errors.ts';

export const LEAD_SIZE = 96;
const LEAD_MAGIC = [0xed, 0xab, 0xee, 0xdb] as const;
const NAME_OFFSET = 10;
const NAME_SIZE = 66;
const SIGNATURE_TYPE_HEADERSIG = 5;
/** rpmrc's arch_canon numbers (rpm 4.18 to 6.0), and 255 for an arch rpmrc does not list (noarch). */
const LEAD_ARCH_NUMBERS = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 255]);
const OS_LINUX = 1;

/**
 * The lead is covered by no digest or signature, so nothing in it is ever used. We still insist on
 * the fixed fields and a canonical name field (NUL-terminated, zero-filled) so that the lead cannot
 * carry hidden data; the name's text is compared to the signed header later (see `checkLeadName`).
 * archnum and osnum are whatever the last rpm to write the lead (rpmbuild, and rpmsign in some
 * modes) put there: up to rpm 4.20 the build host's or --target's arch number (255 for noarch,
 * which mock passes) and 1 for Linux; from rpm 6, 0 and 0. Only numbers rpm can write pass.
 */
export interface Lead {
  readonly name: string;
}

export function parseLead(bytes: Uint8Array, member: string | undefined): Lead {
  if (bytes.length !== LEAD_SIZE) throw new RpmVerifyError('RPM_BAD_LEAD', 'lead is not 96 bytes', member);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!LEAD_MAGIC.every((b, i) => bytes[i] === b)) {
    throw new RpmVerifyError('RPM_BAD_LEAD', 'not an RPM file (lead magic)', member);
  }
  if (bytes[4] !== 3 || bytes[5] !== 0) {
    throw new RpmVerifyError('RPM_BAD_LEAD', `unsupported lead version ${bytes[4] ?? 0}.${bytes[5] ?? 0} (want 3.0)`, member);
  }
  const type = view.getUint16(6);
  if (type !== 0) throw new RpmVerifyError('RPM_BAD_LEAD', `lead type is ${type === 1 ? 'source (1)' : String(type)}, not binary (0)`, member);
  const archnum = view.getUint16(8);
  const osnum = view.getUint16(76);
  const rpm6 = archnum === 0 && osnum === 0;
  if (!rpm6 && !(osnum === OS_LINUX && LEAD_ARCH_NUMBERS.has(archnum))) {
    throw new RpmVerifyError('RPM_BAD_LEAD', `lead arch/os numbers ${archnum}/${osnum} are not what rpm writes (a known arch number or 255 with Linux's 1, or 0/0 from rpm 6)`, member);
  }
  if (view.getUint16(78) !== SIGNATURE_TYPE_HEADERSIG) {
    throw new RpmVerifyError('RPM_BAD_LEAD', 'lead signature type is not 5 (header-style signature)', member);
  }
  for (let i = 80; i < LEAD_SIZE; i++) {
    if (bytes[i] !== 0) throw new RpmVerifyError('RPM_BAD_LEAD', 'lead reserved bytes are not zero', member);
  }
  const nameField = bytes.subarray(NAME_OFFSET, NAME_OFFSET + NAME_SIZE);
  const nul = nameField.indexOf(0);
  if (nul <= 0) throw new RpmVerifyError('RPM_BAD_LEAD', 'lead name is empty or not NUL-terminated', member);
  for (let i = nul; i < NAME_SIZE; i++) {
    if (nameField[i] !== 0) throw new RpmVerifyError('RPM_BAD_LEAD', 'lead name field is not zero-filled', member);
  }
  return { name: Buffer.from(nameField.subarray(0, nul)).toString('latin1') };
}

/** rpm writes NEVR (N-E:V-R when the header has an EPOCH, 0 included), cut to 65 bytes; anything else is a doctored lead. */
export function checkLeadName(lead: Lead, expected: string, member: string | undefined): void {
  if (Buffer.from(expected, 'latin1').subarray(0, NAME_SIZE - 1).toString('latin1') !== lead.name) {
    throw new RpmVerifyError('RPM_LEAD_NAME_MISMATCH', `lead name "${lead.name}" does not match the main header's name (${expected})`, member);
  }
}
