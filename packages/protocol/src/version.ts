/** The protocol version as it appears in `request.json` and in dom0's reply. */
export const PROTOCOL_VERSION = 'dom0-updates/1';
export type ProtocolVersion = typeof PROTOCOL_VERSION;

/** The qrexec service that receives the update stream in dom0. */
export const SERVICE_NAME = 'qubes.ReceiveUpdates';
/**
 * The qrexec service argument naming the stream version. The sender calls
 * `qubes.ReceiveUpdates+v1`; the receiver refuses any other argument before reading a byte.
 */
export const SERVICE_ARGUMENT = 'v1';
export const SERVICE_CALL = `${SERVICE_NAME}+${SERVICE_ARGUMENT}`;
