import { posix } from 'node:path';
import { StateError } from '../errors.ts';
import { sanitize } from '../text.ts';

const FILE_URL = /file:\/\/(\/[^\s,]*)/g;

/**
 * Points `file://` key URLs inside the installroot: dom0's repo files name keys such as
 * file:///etc/pki/rpm-gpg/RPM-GPG-KEY-x, which here live at file://<root>/etc/pki/rpm-gpg/...
 * Only `gpgkey` values (including their indented continuation lines) are touched.
 */
export function rewriteRepoFile(text: string, root: string, fileName: string): string {
  const lines = text.split('\n');
  let inGpgkey = false;
  return lines
    .map((line) => {
      const key = /^([A-Za-z0-9_.-]+)\s*=/.exec(line)?.[1];
      if (key !== undefined) inGpgkey = key.toLowerCase() === 'gpgkey';
      else if (!/^[ \t]/.test(line)) inGpgkey = false;
      if (!inGpgkey) return line;
      return line.replace(FILE_URL, (_match, path: string) => {
        // `..` is refused outright rather than normalised away: a repo file has no reason for it.
        if (path.split('/').includes('..')) {
          throw new StateError(
            'REPO_KEY_PATH',
            `repository file ${sanitize(fileName)}: key path "${sanitize(path)}" contains ".."`,
          );
        }
        return `file://${posix.join(root, posix.normalize(path))}`;
      });
    })
    .join('\n');
}
