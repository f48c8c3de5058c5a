import { archive, member, rawControlProblems, type Corpus } from '../src/index.ts';
import type { RpmCase } from './support.ts';

/**
 * Runs one hostile package through the receiver (as the only member of a batch) and through
 * `verify`; returns every problem found with either (empty: both refused it as expected).
 */
export async function refuseEverywhere(corpus: Corpus, fileName: string, c: RpmCase): Promise<string[]> {
  const bytes = await c.build();
  const keyrings = c.keyrings?.() ?? corpus.trustedKeyrings;
  const path = await corpus.writeScratch(fileName, bytes);
  const [received, verdicts] = await Promise.all([
    corpus.reject(archive([member(fileName, bytes)]), c.expected, { keyrings }),
    corpus.verifyAll([path], keyrings),
  ]);
  const problems = received.problems.map((p) => `receive: ${p}`);
  const line = verdicts.get(path);
  // A keyring verify refuses to load gives no per-file line at all, which is the refusal.
  if (line === undefined) {
    if (!c.expected.some((code) => code.startsWith('KEYRING_'))) problems.push('verify: no verdict line');
  }
  else if (line.verdict !== 'REJECTED') problems.push(`verify: ACCEPTED ${line.line}`);
  else if (!c.expected.includes(line.detail)) problems.push(`verify: code ${line.detail} not in [${c.expected.join(', ')}]: ${line.line}`);
  if (line !== undefined) problems.push(...rawControlProblems('verify line', new TextEncoder().encode(line.line)).map((p) => `verify: ${p}`));
  return problems;
}
