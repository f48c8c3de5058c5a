import { RpmVerifyError } from './errors.ts';

export const LEAD_SIZE = 96;
const LEAD_MAGIC = [0xed, 0xab, 0xee, 0xdb] as const;
const NAME_OFFSET = 10;
const NAME_SIZE = 66;
const SIGNATURE_TYPE_HEADERSIG = 5;
/** [archnum, osnum] pairs rpm writes: x86 family and Linux (rpm <= 4.20 on x86), or zeros (rpm 6). */
const LEAD_ARCH_OS: readonly (readonly [number, number])[] = [
  [1, 1],
  [0, 0],
];

/**
 * The lead is covered by no digest or signature, so nothing in it is ever used. We still insist on
 * the fixed fields and a canonical name field (NUL-terminated, zero-filled) so that the lead cannot
 * carry hidden data; the name's text is compared to the signed header later (see `checkLeadName`).
 * archnum and osnum are whatever the last rpm to write the file (rpmbuild or rpmsign) put there:
 * 1 and 1 on an x86 host up to rpm 4.20, 0 and 0 from rpm 6 on any host. Only those two pairs are
 * accepted, so these unsigned bytes cannot be changed either.
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
  if (view.getUint16(6) !== 0) throw new RpmVerifyError('RPM_BAD_LEAD', 'lead type is not binary (0)', member);
  const archnum = view.getUint16(8);
  const osnum = view.getUint16(76);
  if (!LEAD_ARCH_OS.some(([a, o]) => a === archnum && o === osnum)) {
    throw new RpmVerifyError('RPM_BAD_LEAD', `lead arch/os numbers ${archnum}/${osnum} are not what rpm writes for dom0 (1/1 from an x86 host, 0/0 from rpm 6)`, member);
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

/** rpm writes NEVR (epoch only when set), cut to 65 bytes; anything else is a doctored lead. */
export function checkLeadName(lead: Lead, forms: readonly string[], member: string | undefined): void {
  const ok = forms.some((form) => Buffer.from(form, 'latin1').subarray(0, NAME_SIZE - 1).toString('latin1') === lead.name);
  if (!ok) {
    throw new RpmVerifyError(
      'RPM_LEAD_NAME_MISMATCH',
      `lead name "${lead.name}" does not match the signed header (${forms.join(' or ')})`,
      member,
    );
  }
}
