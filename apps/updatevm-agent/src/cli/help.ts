import { DEFAULT_DNF_LIMITS } from '../dnf/limits.ts';
import { formatBytes } from '../progress/reporter.ts';
import { ACTION_NAMES, ACTION_NOTES } from '../request.ts';

export const VERSION = '0.1.0';

/** `upgrade (the default without packages), install (...), ...`, wrapped to the help's indent. */
function actionList(indent: string, width: number): string {
  const items = ACTION_NAMES.map((a, i) => {
    const note = ACTION_NOTES[a];
    return `${note === '' ? a : `${a} (${note})`}${i === ACTION_NAMES.length - 1 ? '.' : ','}`;
  });
  const lines: string[] = [];
  let line = `${indent}ACTION: one of`;
  for (const word of items.join(' ').split(' ')) {
    if (line.length + 1 + word.length > width) {
      lines.push(line);
      line = `${indent}${word}`;
    } else {
      line += ` ${word}`;
    }
  }
  lines.push(line);
  return lines.join('\n');
}

export const HELP = `updatevm-agent ${VERSION}: downloads dom0 updates in the UpdateVM and sends them to dom0

Usage:
  updatevm-agent run [--workdir DIR] [--transport qrexec|fd|local] [--receiver-command JSON_ARGV] [--json-progress]
                     [--max-metadata-bytes N] [--max-dnf-memory N]
      Read dom0's state-sync stream (request included) on stdin, lay out the installroot,
      run dnf, send this run's packages to dom0 and print dom0's verdict.
  updatevm-agent sync-state [--workdir DIR] [--json-progress]
      Read dom0's state-sync stream on stdin and lay out the installroot only.
  updatevm-agent download [--workdir DIR] [--action ACTION] [--check-only] [--clean]
                          [--enablerepo R]... [--disablerepo R]... [--transport qrexec|fd|local]
                          [--receiver-command JSON_ARGV] [--json-progress] [--max-metadata-bytes N] [--max-dnf-memory N]
                          [PACKAGES...] [-- DNF_OPTIONS... PACKAGES...]
      Use the state from an earlier sync.
${actionList('      ', 96)}
  updatevm-agent --help | --version

Options:
  --workdir DIR            working directory (default /var/lib/qubes/dom0-updates)
  --transport KIND         qrexec (default: qrexec-client-vm dom0 qubes.ReceiveUpdates+v1),
                           fd (the stream to fd 3, dom0's reply from fd 4: dom0-update's local
                           transport), or local (start --receiver-command yourself; by hand only)
  --receiver-command JSON  local transport: the receiver's argv as a JSON array of strings
  --json-progress          one JSON object per line on stdout instead of text
  --max-metadata-bytes N   stop dnf when its metadata cache grows by more than N bytes in one dnf call
                           (default ${DEFAULT_DNF_LIMITS.maxMetadataBytes}, ${formatBytes(DEFAULT_DNF_LIMITS.maxMetadataBytes)}; at least 1 MiB): a mirror's metadata without end
  --max-dnf-memory N       dnf's memory limit in bytes (its data segment, set with ulimit -d;
                           default ${DEFAULT_DNF_LIMITS.maxMemoryBytes}, ${formatBytes(DEFAULT_DNF_LIMITS.maxMemoryBytes)}; at least 256 MiB): a mirror's decompression bomb
  --check-only             only check: exit 100 when updates exist, 0 when none, 1 on error
  --clean                  remove dnf's caches and leftover packages first

Exit codes: 0 ok, 1 failure, 2 usage error, 100 updates available (--check-only),
            125 transport failure, 126 qrexec policy denied,
            129/130/143 stopped by SIGHUP/SIGINT/SIGTERM.
`;
