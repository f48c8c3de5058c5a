import { decodeUpdateStream, type DecodeLimits } from '@dom0-updates/protocol';
import { createRpmVerifier, RpmVerifyError, type Keyring } from '@dom0-updates/rpm-verify';
import type { PhaseProfile } from '../output/profile.ts';
import { timed } from '../output/profile.ts';
import { checksumCacheKey, type ChecksumCacheKey } from '../publish/checksum-cache.ts';
import type { AcceptedPackage } from '../publish/batch-outcome.ts';
import { directWritesRefusedForTest } from '../test-hooks/no-direct-writes.ts';
import { pauseIfRequested } from '../test-hooks/pause.ts';
import { CommitQueue } from './commit-queue.ts';
import { StageIoError } from './stage-error.ts';
import { StagedFile } from './staged-file.ts';
import { OnDemandOffload, WRITE_LANE } from './digest-offload.ts';
import { lanesFromFirstMemberForTest } from '../test-hooks/lanes-first.ts';
import { probeDirectWrites, type DirectWriteMemory } from './direct-write.ts';

/**
 * Decodes the update stream and, in the same pass, writes each member's bytes to its staged file
 * and feeds them to the RPM verifier: each byte is read once and nothing is read back. With the
 * digest worker (started once the batch is large enough to pay for it, digest-offload.ts), one
 * copy of each chunk in its ring is hashed by two lanes; files are written with
 * O_DIRECT from the thread pool, or where the file system refuses that, by a lane from the ring
 * (without the worker, by the thread pool). Either way the queues are bounded
 * (the backpressure that keeps memory flat whatever the batch size), fdatasyncs run in the
 * background, and the promise resolves only once every accepted file is on disk. Throws on the
 * first bad member.
 */
export async function receiveMembers(
  source: AsyncIterable<Uint8Array>,
  limits: DecodeLimits,
  keyring: Keyring,
  now: Date,
  onAccepted: (pkg: AcceptedPackage, cacheKey: ChecksumCacheKey | null) => Promise<void>,
  profile?: PhaseProfile,
): Promise<number> {
  const offload = new OnDemandOffload(lanesFromFirstMemberForTest(process.env) ? 0 : undefined);
  const direct = directWritesRefusedForTest(process.env) ? undefined : probeDirectWrites();
  profile?.count('direct-writes', direct === undefined ? 0 : 1);
  profile?.count('page-aligned', direct?.pageAligned === true ? 1 : 0);
  try {
    return await receiveAll(source, limits, keyring, now, onAccepted, offload, direct, profile);
  } finally {
    await offload.stop(profile);
  }
}

async function receiveAll(
  source: AsyncIterable<Uint8Array>,
  limits: DecodeLimits,
  keyring: Keyring,
  now: Date,
  onAccepted: (pkg: AcceptedPackage, cacheKey: ChecksumCacheKey | null) => Promise<void>,
  lanes: OnDemandOffload,
  direct: DirectWriteMemory | undefined,
  profile: PhaseProfile | undefined,
): Promise<number> {
  let members = 0;
  const commits = new CommitQueue();
  for await (const member of decodeUpdateStream(source, limits)) {
    const offload = lanes.forMember(member.size);
    // direct writes from the thread pool where the file system takes them, else from a lane's ring
    const writer = direct ?? (offload === undefined ? undefined : { worker: offload.worker, lane: WRITE_LANE });
    const file = await StagedFile.create(member.name, writer).catch(
      (error: unknown) => {
        throw new StageIoError(member.name, error);
      },
    );
    const writeJob = file.laneJob;
    let committing = false;
    try {
      const verifier = createRpmVerifier(
        keyring,
        // The legacy MD5 over header+payload binds nothing the signed header and payload SHA-256 do
        // not, but rpm refuses a package whose MD5 is wrong: checking it keeps `receive` and `verify`
        // in agreement and never publishes a package that rpm would then refuse to install.
        {
          now,
          maxPackageBytes: Math.max(1, limits.maxMemberBytes),
          ...(offload === undefined ? {} : { offload: writeJob === undefined ? offload : { ...offload, writeJob } }),
        },
        member.name,
      );
      const body = member.body[Symbol.asyncIterator]();
      for (;;) {
        const next = await timed(profile, 'read', () => body.next());
        if (next.done === true) break;
        const chunk = next.value;
        // a lane writes the file from the verifier's ring; otherwise the chunk is queued for the
        // thread pool, which writes while this thread hashes it
        const queued = (writeJob === undefined ? file.write(chunk) : file.laneProgress()).catch((error: unknown) => {
          throw new StageIoError(member.name, error);
        });
        try {
          const started = performance.now();
          verifier.write(chunk);
          profile?.add('verify', performance.now() - started);
        } finally {
          await timed(profile, 'write-wait', () => queued);
        }
      }
      file.endInput(member.size);
      const verified = await timed(profile, 'finish', () => verifier.finish());
      if (verified.size !== member.size) {
        throw new RpmVerifyError('RPM_SIZE_MISMATCH', `verified ${verified.size} bytes but the member has ${member.size}`, member.name);
      }
      // on disk in the background while the next member streams; complete only after drain()
      committing = true;
      await timed(profile, 'commit-wait', () => commits.add(file, member.name));
      members += 1;
      await timed(profile, 'report', () =>
        onAccepted(
          {
          file: member.name,
          nevra: { ...verified.nevra },
          nevraString: verified.nevraString,
          sha256: verified.sha256,
          size: verified.size,
          signer: { fingerprint: verified.signer.fingerprint },
          },
          checksumCacheKey(verified.cacheKeyFields),
        ),
      );
    } catch (error) {
      // a file handed to the commit queue is closed by it
      if (!committing) await file.close();
      throw error;
    }
    await pauseIfRequested('stage-after-member');
  }
  await timed(profile, 'fsync-drain', () => commits.drain());
  return members;
}
