// The claim of the design, shown rather than asserted: dom0's side needs no network. As root the
// scenario puts dom0 in a namespace with loopback only and the mirror in the UpdateVM's namespace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScenario, removeScenario, runIn, type Scenario } from '../src/scenario.ts';
import { createIsolation, interfacesIn } from '../src/isolation.ts';

const root = process.getuid?.() === 0;

describe.runIf(root)('network isolation (root)', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = await createScenario();
  }, 120_000);
  afterAll(async () => {
    await removeScenario(s);
  });

  it('uses network namespaces', () => {
    expect(s.isolation.mode).toBe('netns');
  });

  it('gives dom0 no interface but loopback', async () => {
    expect(await interfacesIn(s.isolation.dom0Prefix)).toEqual(['lo']);
  });

  it('keeps the mirror out of dom0 reach and within the UpdateVM reach', async () => {
    const fetchScript = `fetch(${JSON.stringify(`${s.mirror.url}repodata/repomd.xml`)}).then(r=>process.exit(r.ok?0:3),()=>process.exit(4))`;
    const fromDom0 = await runIn(s.isolation.dom0Prefix, [process.execPath, '-e', fetchScript]);
    const fromUpdateVm = await runIn(s.isolation.updatevmPrefix, [process.execPath, '-e', fetchScript]);
    expect(fromDom0.exitCode).toBe(4);
    expect(fromUpdateVm.exitCode).toBe(0);
  });

  it('updates dom0 through the pipe alone', async () => {
    const result = await s.run(['-y'], { timeoutMs: 120_000 });
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
    const installed = await s.installed();
    expect(installed.filter((p) => p.startsWith('dom0-'))).toEqual(
      expect.arrayContaining([expect.stringMatching(/^dom0-hello-2\.0/), expect.stringMatching(/^dom0-libgreet-2\.0/), expect.stringMatching(/^dom0-tool-2\.0/)]),
    );
  }, 180_000);
});

describe('without root', () => {
  it('falls back to ordinary processes and says why', async () => {
    const isolation = await createIsolation({ uid: 1000 });
    expect(isolation.mode).toBe('none');
    expect(isolation.reason).toMatch(/not running as root/);
    expect(isolation.dom0Prefix).toEqual([]);
    expect(isolation.updatevmPrefix).toEqual([]);
  });
});
