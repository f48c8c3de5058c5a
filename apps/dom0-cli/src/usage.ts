/** --help and --version text. The README documents the same options in more detail. */
import packageJson from '../package.json' with { type: 'json' };

export const VERSION: string = packageJson.version;

export const USAGE = `Usage: dom0-update [OPTIONS] [PACKAGE...]

Download dom0 updates in the UpdateVM, verify them in dom0 and install them
from the verified cached repository.

Options:
  --check-only            only check for updates (exit 0: none, 100: available, 1: error)
  --action=ACTION         upgrade (default), install (default with PACKAGEs),
                          reinstall or downgrade
  --enablerepo=REPO       enable a repository in the UpdateVM (repeatable)
  --disablerepo=REPO      disable a repository in the UpdateVM (repeatable)
  --clean                 empty dom0's cached repository and the dnf caches first
                          (with --check-only, only the UpdateVM's caches)
  -y, --assumeyes         answer yes to dom0's dnf
  --downloadonly          receive and verify, but do not install
  --silent                print only warnings and errors (on stderr)
  --json-progress         machine-readable progress: one JSON object per line
  --config=FILE           configuration file (default /etc/dom0-updates/config)
  --updatevm=QUBE, --transport=qrexec|local, --updates-dir=DIR, --keyring=FILE,
  --dom0-root=DIR, --max-files=N, --max-bytes=N, --timeout=SECONDS, ...
                          override the configuration key of the same name
                          (with qrexec not those the receiver reads)
  --releasever=VER        release version for dom0's and the UpdateVM's dnf
  --best, --nobest, --skip-broken, --allowerasing, --refresh, --quiet,
  --verbose, --nodocs, --exclude=SPEC, --setopt=KEY=VALUE
                          dnf options passed to the UpdateVM's dnf (--setopt only
                          for network and solver keys, --quiet to a --check-only
                          alone); the first four, --exclude, --verbose and the
                          entries of an unscoped --setopt=exclude= or
                          excludepkgs= also to dom0's dnf. No other option is
                          accepted.
  -h, --help              show this help
  --version               show the version

Exit codes: 0 success, 1 failure, 2 usage error, 100 updates available
(--check-only), 125 transport failure, 126 service call denied by policy,
129/130/143 interrupted by SIGHUP/SIGINT/SIGTERM.
`;
