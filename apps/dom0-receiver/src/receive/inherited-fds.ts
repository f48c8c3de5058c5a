/**
 * Descriptors the receiver inherited beyond stdin, stdout and stderr (a shell's `200>>log`, a
 * caller's leaked pipe) would pass on to every child, the stage among them: Node's spawn leaves
 * open every descriptor not marked close-on-exec, and bwrap passes them on too. The receiver needs
 * none of them, so it closes them before it starts anything. Node's own descriptors are all
 * close-on-exec, which is how the two are told apart.
 */
import { closeSync, readdirSync, readFileSync } from 'node:fs';

const O_CLOEXEC = 0o2000000;

/** Closes every open descriptor above 2 that is not close-on-exec. */
export function closeInheritedDescriptors(): void {
  let names: string[];
  try {
    names = readdirSync('/proc/self/fd');
  } catch {
    return; // no /proc: nothing to go by
  }
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isSafeInteger(fd) || fd <= 2) continue;
    let flags: number;
    try {
      // the descriptor readdir itself used is gone by now, and reads as such
      flags = Number.parseInt(/^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${name}`, 'utf8'))?.[1] ?? '', 8);
    } catch {
      continue;
    }
    if (Number.isNaN(flags) || (flags & O_CLOEXEC) !== 0) continue;
    try {
      closeSync(fd);
    } catch {
      // closed meanwhile
    }
  }
}
