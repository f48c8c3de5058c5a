#!/usr/bin/env node
// Bundles one entry point into a single self-contained ESM file that runs with plain `node`
// and no node_modules: this file is what gets copied into dom0 or an UpdateVM.
import { build } from 'esbuild';
import { chmod } from 'node:fs/promises';

const [entry, outfile] = process.argv.slice(2);
if (!entry || !outfile) {
  console.error('usage: bundle.mjs ENTRY OUTFILE');
  process.exit(2);
}
await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies (tar-stream's) call require() for Node built-ins.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);",
  },
});
await chmod(outfile, 0o755);
