import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  const pkg = join(import.meta.dirname, '..', '..');
  execFileSync(process.execPath, [join(pkg, '..', '..', 'tooling', 'scripts', 'bundle.mjs'), 'src/main.ts', 'dist/updatevm-agent.mjs'], {
    cwd: pkg,
    stdio: 'inherit',
  });
}
