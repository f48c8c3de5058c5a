/**
 * What a batch came to, as the stage reports it and the result record and the reply describe it.
 * Types only, in a module of their own: the stage (which may reach no process or network code)
 * imports them without reaching the updates-dir code behind result-record.ts.
 */

/** One accepted package as the result record and the reply describe it. */
export interface AcceptedPackage {
  readonly file: string;
  readonly nevra: { readonly name: string; readonly epoch: number; readonly version: string; readonly release: string; readonly arch: string };
  readonly nevraString: string;
  readonly sha256: string;
  readonly size: number;
  readonly signer: { readonly fingerprint: string };
}

export interface Rejection {
  readonly code: string;
  readonly member: string | null;
  readonly message: string;
}
