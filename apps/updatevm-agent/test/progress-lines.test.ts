import { describe, expect, it } from 'vitest';
import { describe as lineFor } from '../src/progress/reporter.ts';

describe('progress lines for a person', () => {
  it('shows download progress against the total when dnf gave one', () => {
    expect(lineFor({ stage: 'download', done: 2, total: 3, percent: 66, package: 'a-1-1.noarch.rpm' })).toBe('downloading: 2/3 66% a-1-1.noarch.rpm');
  });

  it('says what a count without a total counts, so "0" does not stand alone', () => {
    expect(lineFor({ stage: 'download', done: 0, total: null, percent: null })).toBe('downloading: 0 packages so far');
    expect(lineFor({ stage: 'download', done: 1, total: null, percent: null, bytes: 2048 })).toBe('downloading: 1 package, 2.0 KiB so far');
  });
});
