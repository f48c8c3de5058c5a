/**
 * Writes the golden vectors into this directory. Run once (`pnpm run vectors`) when a definition
 * changes; the bytes are committed and the tests compare against them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeReply } from '../../src/index.ts';
import { encodeStateVector, encodeUpdateVector } from './encode.ts';
import { GNU_VECTOR, HOSTILE_VECTORS, REPLY_VECTORS, UPDATE_VECTORS } from './definitions.ts';

// Bundled before running, so the target directory is passed in rather than taken from the module.
const here = process.argv[2] ?? import.meta.dirname;

for (const [file, members] of Object.entries(UPDATE_VECTORS)) writeFileSync(join(here, file), await encodeUpdateVector(members));
writeFileSync(join(here, 'state-sync-basic.tar'), await encodeStateVector());
for (const [file, reply] of Object.entries(REPLY_VECTORS)) writeFileSync(join(here, file), encodeReply(reply));
for (const [file, vector] of Object.entries(HOSTILE_VECTORS)) writeFileSync(join(here, file), vector.bytes());

const dir = mkdtempSync(join(tmpdir(), 'gnu-vector-'));
for (const member of GNU_VECTOR.members) writeFileSync(join(dir, member.name), member.bytes);
execFileSync('tar', [
  '--format=ustar',
  '--mtime=@0',
  '--owner=root:0',
  '--group=root:0',
  '--mode=0644',
  '-C',
  dir,
  '-cf',
  join(here, GNU_VECTOR.file),
  ...GNU_VECTOR.members.map((m) => m.name),
]);
rmSync(dir, { recursive: true });

const manifest = {
  description: 'Golden vectors of @dom0-updates/protocol; see SPEC.md. Hostile vectors map to the error code the decoder must return (SPEC.md §9).',
  update: Object.fromEntries(Object.entries(UPDATE_VECTORS).map(([file, members]) => [file, members.map((m) => ({ name: m.name, size: m.bytes.length }))])),
  gnu: { [GNU_VECTOR.file]: GNU_VECTOR.members.map((m) => ({ name: m.name, size: m.bytes.length })) },
  hostile: Object.fromEntries(Object.entries(HOSTILE_VECTORS).map(([file, vector]) => [file, vector.code])),
  reply: Object.keys(REPLY_VECTORS),
  stateSync: ['state-sync-basic.tar'],
};
writeFileSync(join(here, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log('vectors written to', here);
