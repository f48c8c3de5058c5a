#!/usr/bin/env node
// Bundles one entry point into a single self-contained ESM file that runs with plain `node`
// and no node_modules: this file is what gets copied into dom0 or an UpdateVM.
import { build } from 'esbuild';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

const [entry, outfile] = process.argv.slice(2);
if (!entry || !outfile) {
  console.error('usage: bundle.mjs ENTRY OUTFILE');
  process.exit(2);
}
const result = await build({
  entryPoints: [entry],
  outfile,
  // written below, whole, by a rename: a test suite rebuilds a bundle (its vitest globalSetup)
  // while another package's tests, which turbo runs at the same time, may be starting that very
  // file; esbuild's own write truncates it first, and a node started then fails with
  // "SyntaxError: Unexpected end of input" (or runs an empty file and exits 0)
  write: false,
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
const [output] = result.outputFiles;
if (result.outputFiles.length !== 1 || output === undefined) {
  console.error(`bundle.mjs: expected one output file, got ${result.outputFiles.length}`);
  process.exit(1);
}
const tmp = `${outfile}.${process.pid}.tmp`;
try {
  await mkdir(dirname(outfile), { recursive: true });
  await writeFile(tmp, output.contents);
  await chmod(tmp, 0o755);
  await rename(tmp, outfile);
} catch (error) {
  await rm(tmp, { force: true });
  throw error;
}
