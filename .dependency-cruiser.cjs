/**
 * Trust boundaries, checked in CI rather than kept by convention.
 * dom0 code never depends on the UpdateVM's code; the wire format and the parsers of untrusted
 * bytes cannot reach processes or the network.
 */
const PROCESS = ['^(node:)?child_process$', '^(node:)?cluster$', '^(node:)?worker_threads$', 'execa@'];
// Threads are not processes: the stage and the RPM verifier may hash on a worker thread (same
// process, same uid, same permission model; the worker runs fixed code from rpm-verify, never a
// file or a tool). They still may not spawn processes or fork.
const SPAWN = ['^(node:)?child_process$', '^(node:)?cluster$', 'execa@'];
const NETWORK = ['^(node:)?(net|http|https|http2|dgram|tls|dns|inspector)$', 'undici@'];
const DOM0 = '^(apps/dom0-receiver|apps/dom0-cli|packages/rpm-verify)/';

module.exports = {
  forbidden: [
    {
      name: 'dom0-imports-no-updatevm-code',
      comment: 'dom0 must never run code written for the untrusted UpdateVM.',
      severity: 'error',
      from: { path: DOM0 },
      to: { path: '^apps/updatevm-agent/' },
    },
    {
      name: 'protocol-has-no-process-or-network',
      comment: 'The wire format is pure: it parses and encodes bytes and nothing else.',
      severity: 'error',
      from: { path: '^packages/protocol/src/' },
      to: { path: [...PROCESS, ...NETWORK] },
    },
    {
      name: 'untrusted-parsers-spawn-nothing',
      comment: 'Code that reads untrusted bytes in dom0 spawns no processes and opens no sockets (worker threads are allowed, see SPAWN).',
      severity: 'error',
      from: { path: '^(packages/rpm-verify/src/|apps/dom0-receiver/src/stage/)' },
      to: { path: [...SPAWN, ...NETWORK] },
    },
    {
      name: 'dom0-receiver-has-no-network',
      comment:
        'dom0 has no network; its code has no reason to open sockets. One exception: the receiver and dom0-update locks bind a name in ' +
        "Linux's abstract Unix socket namespace (no file, no network, accepts nothing) as a mutex the kernel frees when the holder dies.",
      severity: 'error',
      from: { path: '^(apps/dom0-receiver|apps/dom0-cli|packages/rpm-verify)/src/', pathNot: '^(apps/dom0-receiver/src/updates-dir/lock|apps/dom0-cli/src/lock)\\.ts$' },
      to: { path: NETWORK },
    },
    {
      name: 'no-test-fixtures-in-shipped-code',
      comment: 'Fixture builders are for tests; shipped code must not depend on them.',
      severity: 'error',
      from: { path: '^(apps|packages)/[^/]+/src/' },
      to: { path: '^tooling/' },
    },
    {
      name: 'untrusted-parsers-reach-no-process-or-network',
      comment: 'Not even through other modules: nothing the parsers of untrusted bytes import, directly or not, spawns or connects.',
      severity: 'error',
      from: { path: '^(packages/protocol/src/|packages/rpm-verify/src/|apps/dom0-receiver/src/stage/)' },
      to: { path: [...SPAWN, ...NETWORK], reachable: true },
    },
    {
      name: 'protocol-reaches-no-threads',
      comment: 'The wire format stays pure: not even a worker thread, directly or not.',
      severity: 'error',
      from: { path: '^packages/protocol/src/' },
      to: { path: ['^(node:)?worker_threads$'], reachable: true },
    },
    {
      name: 'no-unresolvable',
      comment: 'An import the checker cannot resolve is an import it cannot check.',
      severity: 'error',
      from: { path: '^(apps|packages|tooling)/' },
      to: { couldNotResolve: true },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|test-results)' },
    tsConfig: { fileName: 'tsconfig.depcruise.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.mjs', '.js', '.json'],
    },
  },
};
