import { createHash, timingSafeEqual, type Hash } from 'node:crypto';
import { RpmVerifyError } from './errors.ts';
import { formatNevra, parseMainHeader, type MainHeader, type Nevra } from './header/main-header.ts';
import { parseSignatureHeader, type SignatureHeader } from './header/signature-header.ts';
import { archiveSizeOf } from './header/archive-size.ts';
import { HEADER_INTRO_SIZE, HEADER_MAGIC, parseHeader, parseHeaderIntro, type HeaderIntro, type ParsedHeader } from './header/structure.ts';
import type { DigestWorker } from './digest/digest-worker.ts';
import { checkLeadName, LEAD_SIZE, parseLead, type Lead } from './lead.ts';
import { keysOf, type Keyring } from './pgp/keyring.ts';
import { finishV4Digest, verifyDigestWithOpenPgp } from './pgp/prehashed.ts';
import { parseSignatureBlob, type SignatureBlobInfo } from './pgp/signature-blob.ts';
import { resolveSigner, type ResolvedSigner } from './pgp/signer.ts';

export interface VerifyOptions {
  /** reference date for key and signature time checks; explicit, there is no hidden clock */
  now: Date;
  /** cap for signature header + main header together; default 32 MiB */
  maxHeaderBytes?: number;
  /** cap for the whole file; default 4 GiB */
  maxPackageBytes?: number;
  /**
   * Check the legacy MD5 digest (1004) of header+payload. Default true: rpm 4.18 rejects a bad
   * one, so skipping it can let through a package dnf then refuses to install (a denial of
   * service only; the signed header and payload digest bind the content). Costs one MD5 pass.
   */
  checkLegacyMd5?: boolean;
  /**
   * Computes the listed digests on a worker thread instead of the caller's, so two cores hash at
   * once. Each chunk is copied once into the worker's ring (the caller keeps its chunks).
   */
  offload?: DigestOffload;
}

/** Digests the verifier can hand to a DigestWorker: those that no check waits on before finish(). */
export type OffloadedDigest = 'file-sha256' | 'payload-sha256' | 'legacy-md5';

export interface DigestOffload {
  readonly worker: DigestWorker;
  readonly digests: readonly OffloadedDigest[];
  /** the worker lane of each offloaded digest (default lane 0) */
  readonly lanes?: Readonly<Partial<Record<OffloadedDigest, number>>>;
  /**
   * A write job of the same worker (DigestWorker.beginWrite) that gets every byte given to
   * write(), in the same ring records as the digests: the caller's file is written from the one
   * copy that is hashed. The job stays the caller's to end.
   */
  readonly writeJob?: number;
}

export interface VerifiedPackage {
  nevra: Nevra;
  nevraString: string;
  /** bytes in the file */
  size: number;
  /** SHA-256 of the whole file as received, lowercase hex */
  sha256: string;
  payloadSha256: string;
  signer: {
    /** primary key fingerprint, lowercase hex */
    fingerprint: string;
    /** the primary key or the subkey that made the header signature */
    signingKeyFingerprint: string;
    algorithm: string;
    hash: string;
    /** ISO 8601 */
    createdAt: string;
  };
  signatures: readonly { tag: number; kind: 'header' | 'header+payload' }[];
  /**
   * Fields of the verified headers that createrepo_c keys its `--cachedir` checksum cache on
   * (it reads them from the same bytes): the legacy header+payload signature blob (1002/1005),
   * SHA1HEADER (269, checked against the header) and SIZE (1009). null where absent.
   */
  cacheKeyFields: {
    legacySignature: Uint8Array | null;
    sha1Header: string | null;
    installedSize: number | null;
  };
}

export interface RpmStreamVerifier {
  /** Feeds the next bytes; throws RpmVerifyError as soon as they are known to be bad. */
  write(chunk: Uint8Array): void;
  /** Ends the input; resolves to the verified package or rejects with RpmVerifyError. */
  finish(): Promise<VerifiedPackage>;
}

export const DEFAULT_MAX_HEADER_BYTES = 32 * 1024 * 1024;
export const DEFAULT_MAX_PACKAGE_BYTES = 4 * 1024 * 1024 * 1024;

type Phase = 'lead' | 'sigIntro' | 'sigBody' | 'sigPad' | 'mainIntro' | 'mainBody' | 'payload' | 'finished';

/** Where a file that ends early ended, for its RPM_TRUNCATED message. */
const PHASE_TEXT: Record<Phase, string> = {
  lead: 'in the lead',
  sigIntro: "in the signature header's intro",
  sigBody: "in the signature header's index or data",
  sigPad: "in the signature header's padding",
  mainIntro: "in the main header's intro",
  mainBody: "in the main header's index or data",
  payload: 'in the payload',
  finished: 'after the end',
};

interface PendingSignature {
  readonly tag: number;
  readonly info: SignatureBlobInfo;
  /** settles with the resolved, checked signer; rejections are observed at finish() */
  readonly signer: Promise<ResolvedSigner>;
}

const UINT32_MAX = 0xffffffff;

export function createRpmVerifier(keyring: Keyring, options: VerifyOptions, label?: string): RpmStreamVerifier {
  return new StreamVerifier(keyring, options, label);
}

function positive(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new RpmVerifyError('RPM_STATE', `${what} must be a positive integer`);
  return value;
}

/**
 * What is wrong with the padding after the signature header (up to 7 bytes that must be zero): a
 * main header that starts inside it means the padding is short, as a writer that forgot it leaves.
 */
function describePaddingFault(pad: Uint8Array): string {
  const first = pad.findIndex((b) => b !== 0);
  // a header intro begins with the magic and four reserved zero bytes
  const introStart = [...HEADER_MAGIC, 0, 0, 0, 0];
  if (pad.subarray(first).every((b, i) => b === introStart[i])) {
    return `padding after the signature header is ${pad.length - first} byte(s) short of the ${pad.length} needed to align the main header to 8 bytes: its magic starts at padding byte ${first}`;
  }
  return `padding after the signature header is not zero (byte ${first} of ${pad.length} is 0x${(pad[first] ?? 0).toString(16).padStart(2, '0')})`;
}

/** Internal invariant: a later phase only runs once an earlier one has set its state. */
function known<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new RpmVerifyError('RPM_STATE', `internal state missing: ${what}`);
  return value;
}

function quiet<T>(promise: Promise<T>): Promise<T> {
  // finish() may never be called after a write() failure; don't let that become an unhandled rejection
  promise.catch(() => undefined);
  return promise;
}

class StreamVerifier implements RpmStreamVerifier {
  readonly #keys;
  readonly #now: Date;
  readonly #member: string | undefined;
  readonly #maxHeaderBytes: number;
  readonly #maxPackageBytes: number;
  readonly #checkMd5: boolean;

  #phase: Phase = 'lead';
  #failure: RpmVerifyError | undefined;
  #target: Uint8Array = new Uint8Array(LEAD_SIZE);
  #filled = 0;
  #received = 0;
  #expectedTotal: number | undefined;
  /** the whole-file SHA-256: here, or as a job on the offload worker */
  readonly #fileHash: Hash | undefined;
  readonly #offload: DigestOffload | undefined;
  #fileJob: number | undefined;
  #payloadJob: number | undefined;
  #md5Job: number | undefined;

  #lead: Lead | undefined;
  #sigIntro: HeaderIntro | undefined;
  #sigHeader: SignatureHeader | undefined;
  #mainIntro: HeaderIntro | undefined;
  #main: MainHeader | undefined;
  /** kept for the file-list walk, which waits until the header's signature has verified */
  #mainParsed: ParsedHeader | undefined;
  #headerSig: PendingSignature | undefined;
  #legacySig: PendingSignature | undefined;
  #headerVerified: Promise<ResolvedSigner> | undefined;
  #payloadHash: Hash | undefined;
  #md5: Hash | undefined;
  #legacyHash: Hash | undefined;

  constructor(keyring: Keyring, options: VerifyOptions, label: string | undefined) {
    this.#keys = keysOf(keyring);
    if (!(options.now instanceof Date) || Number.isNaN(options.now.getTime())) {
      throw new RpmVerifyError('RPM_STATE', 'options.now must be a valid Date');
    }
    this.#now = new Date(options.now.getTime());
    this.#member = label;
    this.#maxHeaderBytes = positive(options.maxHeaderBytes, DEFAULT_MAX_HEADER_BYTES, 'maxHeaderBytes');
    this.#maxPackageBytes = positive(options.maxPackageBytes, DEFAULT_MAX_PACKAGE_BYTES, 'maxPackageBytes');
    this.#checkMd5 = options.checkLegacyMd5 ?? true;
    this.#offload = options.offload;
    this.#fileJob = this.#beginJob('file-sha256', 'sha256');
    this.#fileHash = this.#fileJob === undefined ? createHash('sha256') : undefined;
  }

  /** Begins the digest on its worker lane if it is offloaded; undefined if it runs here. */
  #beginJob(digest: OffloadedDigest, algorithm: 'sha256' | 'md5'): number | undefined {
    const offload = this.#offload;
    if (offload === undefined || !offload.digests.includes(digest)) return undefined;
    return offload.worker.begin(algorithm, offload.lanes?.[digest] ?? 0);
  }

  write(chunk: Uint8Array): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#phase === 'finished') throw new RpmVerifyError('RPM_STATE', 'write() after finish()', this.#member);
    try {
      this.#consume(chunk);
    } catch (err) {
      throw this.#fail(err);
    }
  }

  async finish(): Promise<VerifiedPackage> {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#phase === 'finished') throw new RpmVerifyError('RPM_STATE', 'finish() called twice', this.#member);
    try {
      return await this.#finish();
    } catch (err) {
      throw this.#fail(err);
    }
  }

  #fail(err: unknown): RpmVerifyError {
    const error = err instanceof RpmVerifyError ? err : new RpmVerifyError('RPM_STATE', `internal error: ${err instanceof Error ? err.message : String(err)}`, this.#member);
    this.#failure = error;
    this.#dropJobs();
    return error;
  }

  /** A rejected package's digests will never be asked for: free them in the worker. */
  #dropJobs(): void {
    for (const job of [this.#fileJob, this.#payloadJob, this.#md5Job]) if (job !== undefined) this.#offload?.worker.drop(job);
    this.#fileJob = undefined;
    this.#payloadJob = undefined;
    this.#md5Job = undefined;
  }

  /** Feeds the offloaded digests that cover these bytes, all with one copy into the ring. */
  #offloadUpdate(part: Uint8Array, inPayload: boolean): void {
    const offload = this.#offload;
    if (offload === undefined) return;
    const jobs: number[] = [];
    if (offload.writeJob !== undefined) jobs.push(offload.writeJob);
    if (this.#fileJob !== undefined) jobs.push(this.#fileJob);
    if (inPayload && this.#payloadJob !== undefined) jobs.push(this.#payloadJob);
    if (inPayload && this.#md5Job !== undefined) jobs.push(this.#md5Job);
    offload.worker.update(jobs, part);
  }

  #consume(chunk: Uint8Array): void {
    this.#received += chunk.length;
    if (this.#received > this.#maxPackageBytes) {
      throw new RpmVerifyError('RPM_TOO_LARGE', `package exceeds ${this.#maxPackageBytes} bytes`, this.#member);
    }
    this.#fileHash?.update(chunk);
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#phase === 'payload') {
        // the hot path: hand views straight to the hashes, no copies, no per-byte work
        const part = offset === 0 ? chunk : chunk.subarray(offset);
        this.#payloadHash?.update(part);
        this.#md5?.update(part);
        this.#legacyHash?.update(part);
        this.#offloadUpdate(part, true);
        break;
      }
      const take = Math.min(this.#target.length - this.#filled, chunk.length - offset);
      const piece = chunk.subarray(offset, offset + take);
      this.#target.set(piece, this.#filled);
      this.#offloadUpdate(piece, false);
      this.#filled += take;
      offset += take;
      if (this.#filled === this.#target.length) this.#advance();
    }
    if (this.#expectedTotal !== undefined && this.#received > this.#expectedTotal) {
      throw new RpmVerifyError(
        'RPM_TRAILING_DATA',
        // refused at the first excess chunk, unread beyond it: the count is a lower bound
        `at least ${this.#received - this.#expectedTotal} byte(s) after the end given by the signature header's size`,
        this.#member,
      );
    }
  }

  #expect(length: number, phase: Phase, keep?: Uint8Array): void {
    this.#phase = phase;
    this.#target = new Uint8Array(length);
    this.#filled = 0;
    if (keep !== undefined) {
      this.#target.set(keep);
      this.#filled = keep.length;
    }
  }

  #advance(): void {
    const m = this.#member;
    switch (this.#phase) {
      case 'lead':
        this.#lead = parseLead(this.#target, m);
        this.#expect(HEADER_INTRO_SIZE, 'sigIntro');
        return;
      case 'sigIntro': {
        this.#sigIntro = parseHeaderIntro(this.#target, 'signature', this.#maxHeaderBytes, m);
        this.#expect(this.#sigIntro.totalBytes, 'sigBody', this.#target);
        return;
      }
      case 'sigBody':
        this.#onSignatureHeader();
        return;
      case 'sigPad':
        if (this.#target.some((b) => b !== 0)) throw new RpmVerifyError('RPM_SIG_PADDING', describePaddingFault(this.#target), m);
        this.#expect(HEADER_INTRO_SIZE, 'mainIntro');
        return;
      case 'mainIntro': {
        const sigTotal = this.#sigIntro?.totalBytes ?? 0;
        const intro = parseHeaderIntro(this.#target, 'main', this.#maxHeaderBytes - sigTotal, m);
        const size = this.#sigHeader?.size ?? 0;
        if (intro.totalBytes > size) {
          throw new RpmVerifyError('RPM_SIZE_MISMATCH', `main header (${intro.totalBytes} bytes) is larger than SIZE (${size})`, m);
        }
        this.#mainIntro = intro;
        this.#expect(intro.totalBytes, 'mainBody', this.#target);
        return;
      }
      case 'mainBody':
        this.#onMainHeader();
        return;
      case 'payload':
      case 'finished':
        throw new RpmVerifyError('RPM_STATE', `unexpected parser state ${this.#phase}`, m);
    }
  }

  #onSignatureHeader(): void {
    const m = this.#member;
    const intro = known(this.#sigIntro, 'signature intro');
    const parsed = parseHeader(this.#target, intro, 'signature', m);
    const sig = parseSignatureHeader(parsed, m);
    this.#sigHeader = sig;
    if (sig.headerSignature === undefined) {
      throw new RpmVerifyError('RPM_UNSIGNED', 'no header signature (RSAHEADER 268 or DSAHEADER 267)', m);
    }
    // structural checks of the blobs now, so a bad blob fails before the payload streams in
    const headerInfo = parseSignatureBlob(sig.headerSignature.blob, sig.headerSignature.tag, m);
    const keys = this.#keys;
    const now = this.#now;
    const headerBlob = sig.headerSignature;
    this.#headerSig = { tag: headerBlob.tag, info: headerInfo, signer: quiet(resolveSigner(keys, headerBlob.blob, headerInfo, headerBlob.tag, now, m)) };
    const legacy = sig.legacySignature;
    if (legacy !== undefined) {
      const info = parseSignatureBlob(legacy.blob, legacy.tag, m);
      this.#legacySig = { tag: legacy.tag, info, signer: quiet(resolveSigner(keys, legacy.blob, info, legacy.tag, now, m)) };
    }
    const pad = (8 - (intro.dataLength % 8)) % 8;
    const expectedTotal = LEAD_SIZE + intro.totalBytes + pad + sig.size;
    if (expectedTotal > this.#maxPackageBytes) {
      throw new RpmVerifyError('RPM_TOO_LARGE', `signature header announces ${expectedTotal} bytes, more than ${this.#maxPackageBytes}`, m);
    }
    this.#expectedTotal = expectedTotal;
    if (pad > 0) this.#expect(pad, 'sigPad');
    else this.#expect(HEADER_INTRO_SIZE, 'mainIntro');
  }

  #onMainHeader(): void {
    const m = this.#member;
    const bytes = this.#target;
    // the structure first (bounds, canonical form: a malformed header is named as such), then the
    // digests, then the fields: a well-formed main header changed on the way is a digest mismatch,
    // not whatever its changed bytes happen to break (a name, a tag's type, the payload format)
    const parsed = parseHeader(bytes, known(this.#mainIntro, 'main intro'), 'main', m);
    const sig = known(this.#sigHeader, 'signature header');
    if (sig.sha256Header !== undefined && createHash('sha256').update(bytes).digest('hex') !== sig.sha256Header) {
      throw new RpmVerifyError('RPM_DIGEST_MISMATCH', 'main header does not match SHA256HEADER (273)', m);
    }
    if (sig.sha1Header !== undefined && createHash('sha1').update(bytes).digest('hex') !== sig.sha1Header) {
      // never relied on, but rpm rejects a bad one, so we do too
      throw new RpmVerifyError('RPM_DIGEST_MISMATCH', 'main header does not match SHA1HEADER (269)', m);
    }
    const main = parseMainHeader(parsed, m);
    checkLeadName(known(this.#lead, 'lead'), main.leadName, m);
    this.#main = main;
    this.#mainParsed = parsed;
    // the header signature is checked while the payload streams in
    const headerSig = known(this.#headerSig, 'header signature');
    const headerDigest = finishV4Digest(createHash(headerSig.info.hashName).update(bytes), headerSig.info);
    this.#headerVerified = quiet(
      headerSig.signer.then(async (signer) => {
        await verifyDigestWithOpenPgp(headerDigest, signer, headerSig.info, headerSig.tag, m);
        return signer;
      }),
    );
    this.#payloadJob = this.#beginJob('payload-sha256', 'sha256');
    if (this.#payloadJob === undefined) this.#payloadHash = createHash('sha256');
    if (sig.md5 !== undefined && this.#checkMd5) {
      this.#md5Job = this.#beginJob('legacy-md5', 'md5');
      if (this.#md5Job === undefined) this.#md5 = createHash('md5').update(bytes);
      else this.#offload?.worker.update([this.#md5Job], bytes);
    }
    if (this.#legacySig !== undefined) this.#legacyHash = createHash(this.#legacySig.info.hashName).update(bytes);
    this.#phase = 'payload';
    this.#target = new Uint8Array(0);
    this.#filled = 0;
  }

  /** Ends an offloaded digest: the worker then owns the job and delivers it. */
  #endJob(job: number | undefined): Promise<Buffer> | undefined {
    return job === undefined || this.#offload === undefined ? undefined : quiet(this.#offload.worker.digest(job));
  }

  async #finish(): Promise<VerifiedPackage> {
    const m = this.#member;
    const phase = this.#phase;
    this.#phase = 'finished';
    if (phase !== 'payload' || this.#expectedTotal === undefined || this.#received < this.#expectedTotal) {
      const where = PHASE_TEXT[phase];
      // in the payload the length is the signature header's claim (SIZE/LONGSIZE): say so, since
      // a raised SIZE on a whole file reads the same as a file cut short
      const declared = phase === 'payload' && this.#expectedTotal !== undefined ? `, short of the ${this.#expectedTotal} bytes the signature header's size declares` : '';
      throw new RpmVerifyError('RPM_TRUNCATED', `file ends after ${this.#received} bytes ${where}${declared}`, m);
    }
    // ask the worker first: it finishes its queue while this thread checks the signature
    const remoteMd5 = this.#endJob(this.#md5Job);
    const remotePayload = this.#endJob(this.#payloadJob);
    const remoteFile = this.#endJob(this.#fileJob);
    this.#md5Job = undefined;
    this.#payloadJob = undefined;
    this.#fileJob = undefined;
    const headerSig = known(this.#headerSig, 'header signature');
    const main = known(this.#main, 'main header');
    const signer = await known(this.#headerVerified, 'header verification');

    const payloadSha256 = remotePayload === undefined ? known(this.#payloadHash, 'payload hash').digest('hex') : (await remotePayload).toString('hex');
    if (payloadSha256 !== main.payloadDigest) {
      throw new RpmVerifyError('RPM_PAYLOAD_MISMATCH', 'payload does not match PAYLOADDIGEST in the signed header', m);
    }
    const sigHeader = known(this.#sigHeader, 'signature header');
    const md5 = sigHeader.md5;
    const md5Actual = remoteMd5 === undefined ? this.#md5?.digest() : await remoteMd5;
    if (md5Actual !== undefined && md5 !== undefined && !timingSafeEqual(md5Actual, md5)) {
      throw new RpmVerifyError('RPM_DIGEST_MISMATCH', 'header+payload do not match the MD5 digest (1004)', m);
    }
    // only now that the header is authentic is its file list walked: the unsigned size must be its archive's
    const archiveBytes = archiveSizeOf(known(this.#mainParsed, 'main header'), m);
    if (archiveBytes !== sigHeader.payloadSize) {
      throw new RpmVerifyError(
        'RPM_PAYLOAD_SIZE_MISMATCH',
        `signature header: the payload size (PAYLOADSIZE/LONGARCHIVESIZE) says ${sigHeader.payloadSize} bytes, the signed file list makes an archive of ${archiveBytes}`,
        m,
      );
    }
    // rpm writes the 64-bit pair exactly when one of the two sizes needs it: any other form is a re-encoding
    const needsLong = sigHeader.size >= UINT32_MAX || archiveBytes >= UINT32_MAX;
    if (needsLong !== sigHeader.longSizes) {
      throw new RpmVerifyError(
        'RPM_SIG_TAG_BAD',
        `signature header: sizes of ${sigHeader.size} and ${archiveBytes} bytes are written as ${sigHeader.longSizes ? 'LONGSIZE/LONGARCHIVESIZE' : 'SIZE/PAYLOADSIZE'}, rpm writes ${needsLong ? 'the 64-bit' : 'the 32-bit'} pair`,
        m,
      );
    }
    const signatures: { tag: number; kind: 'header' | 'header+payload' }[] = [{ tag: headerSig.tag, kind: 'header' }];
    if (this.#legacySig !== undefined) {
      const legacy = this.#legacySig;
      const legacySigner = await legacy.signer;
      await verifyDigestWithOpenPgp(finishV4Digest(known(this.#legacyHash, 'legacy hash'), legacy.info), legacySigner, legacy.info, legacy.tag, m);
      signatures.push({ tag: legacy.tag, kind: 'header+payload' });
    }
    return {
      nevra: { ...main.nevra },
      nevraString: formatNevra(main.nevra),
      size: this.#received,
      sha256: remoteFile === undefined ? known(this.#fileHash, 'file hash').digest('hex') : (await remoteFile).toString('hex'),
      payloadSha256,
      signer: {
        fingerprint: signer.fingerprint,
        signingKeyFingerprint: signer.signingKeyFingerprint,
        algorithm: headerSig.info.algorithmName,
        hash: headerSig.info.hashName.toUpperCase(),
        createdAt: signer.created.toISOString(),
      },
      signatures,
      cacheKeyFields: {
        legacySignature: sigHeader.legacySignature === undefined ? null : Uint8Array.from(sigHeader.legacySignature.blob),
        sha1Header: sigHeader.sha1Header ?? null,
        installedSize: main.installedSize,
      },
    };
  }
}
