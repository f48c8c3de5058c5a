import { findDuplicateKey } from './duplicates.ts';

/** At most this many problems are listed in one error. */
export const MAX_ISSUES = 100;

/**
 * Collects every problem in an untrusted JSON value instead of stopping at the first, so one
 * error message lists all bad fields. Each method returns the checked value or undefined.
 */
export class Checker {
  /** The first MAX_ISSUES problems; `count` has them all. */
  readonly #issues: string[] = [];
  /** How many problems were found, kept or not. */
  count = 0;

  fail(path: string, problem: string): undefined {
    // Bounded: a 4 MiB document of unknown keys must not become a 4 MiB error.
    if (this.count < MAX_ISSUES) this.#issues.push(`${path}: ${problem}`);
    this.count++;
    return undefined;
  }

  /** The problems to report, with a note of how many more were left out. */
  get issues(): readonly string[] {
    const more = this.count - this.#issues.length;
    return more > 0 ? [...this.#issues, `and ${more} more problem${more === 1 ? '' : 's'}`] : this.#issues;
  }

  /** A plain object whose keys are all in `required` or `optional`. */
  object(value: unknown, path: string, required: readonly string[], optional: readonly string[] = []): Record<string, unknown> | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return this.fail(path, 'must be an object');
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!required.includes(key) && !optional.includes(key)) this.fail(`${path}.${key}`, 'is not an allowed field');
    }
    for (const key of required) {
      if (!Object.hasOwn(record, key)) this.fail(`${path}.${key}`, 'is missing');
    }
    return record;
  }

  string(value: unknown, path: string, pattern: RegExp, maxLength: number, describe?: string): string | undefined {
    if (typeof value !== 'string') return this.fail(path, 'must be a string');
    if (value.length > maxLength) return this.fail(path, `is longer than ${maxLength} characters`);
    if (!pattern.test(value)) return this.fail(path, `does not match ${describe ?? pattern.source}`);
    return value;
  }

  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): T | undefined {
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      return this.fail(path, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    }
    return value as T;
  }

  boolean(value: unknown, path: string): boolean | undefined {
    if (typeof value !== 'boolean') return this.fail(path, 'must be true or false');
    return value;
  }

  /** An array of at most `maxItems`, each item checked by `item`; undefined if any item failed. */
  array<T>(value: unknown, path: string, maxItems: number, item: (value: unknown, path: string) => T | undefined): T[] | undefined {
    if (!Array.isArray(value)) return this.fail(path, 'must be an array');
    if (value.length > maxItems) return this.fail(path, `has more than ${maxItems} items`);
    const out: T[] = [];
    let ok = true;
    value.forEach((entry: unknown, i) => {
      const checked = item(entry, `${path}[${i}]`);
      if (checked === undefined) ok = false;
      else out.push(checked);
    });
    return ok ? out : undefined;
  }
}

// ignoreBOM keeps a leading U+FEFF in the text, so JSON.parse refuses it instead of it vanishing.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Frames and parses one JSON line: at most `maxBytes` bytes, valid UTF-8, exactly one line ending
 * in a single "\n". Returns the parsed value or the reason the bytes are not such a line.
 */
export function parseJsonLine(
  bytes: Uint8Array,
  maxBytes: number,
): { value: unknown } | { problem: 'too-large' | 'framing' | 'json'; detail: string } {
  if (bytes.length > maxBytes) return { problem: 'too-large', detail: `${bytes.length} bytes, more than ${maxBytes}` };
  const newline = bytes.indexOf(0x0a);
  // Empty input has no newline at all (indexOf -1 equals length - 1 there).
  if (newline === -1 || newline !== bytes.length - 1) {
    return { problem: 'framing', detail: newline === -1 ? 'no terminating newline' : 'more than one line' };
  }
  let text: string;
  try {
    text = strictUtf8.decode(bytes.subarray(0, newline));
  } catch {
    return { problem: 'json', detail: 'not valid UTF-8' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (error) {
    return { problem: 'json', detail: `not valid JSON (${error instanceof Error ? error.message : 'parse error'})` };
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) return { problem: 'json', detail: `the key ${JSON.stringify(duplicate)} appears twice in one object` };
  return { value };
}
