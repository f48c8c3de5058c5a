import { expect, it } from 'vitest';

it('loads the package entry point', async () => {
  const mod: unknown = await import('../package.json', { with: { type: 'json' } });
  expect(mod).toBeTruthy();
});
