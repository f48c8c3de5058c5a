import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.ts';
import type { StageOwner } from '../updates-dir/staging.ts';

export const DEFAULT_STAGE_USER = 'nobody';

/**
 * The user the stage drops to when the receiver runs as root (default `nobody`); undefined when
 * not root (there is nothing to drop). Looked up in /etc/passwd, which dom0 controls.
 */
export async function resolveStageUser(requested: string | undefined): Promise<StageOwner | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const name = requested ?? DEFAULT_STAGE_USER;
  const passwd = await readFile('/etc/passwd', 'utf8');
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user !== name || uid === undefined || gid === undefined) continue;
    const owner = { uid: Number(uid), gid: Number(gid) };
    if (!Number.isSafeInteger(owner.uid) || !Number.isSafeInteger(owner.gid) || owner.uid === 0 || owner.gid === 0) {
      throw new ConfigError('CONFIG_INVALID', `stage user ${name} must have a non-zero uid and gid`);
    }
    return owner;
  }
  throw new ConfigError('CONFIG_INVALID', `stage user ${name} does not exist`);
}
