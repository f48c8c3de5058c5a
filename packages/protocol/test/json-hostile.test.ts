/**
 * Hostile JSON for the reply and request.json parsers: duplicate keys, prototype keys, huge
 * numbers, deep nesting, floods of bad fields, bad encodings, and random documents.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_STATE_SYNC_LIMITS,
  PROTOCOL_VERSION,
  ReplyError,
  RequestError,
  decodeStateSync,
  encodeReply,
  encodeRequest,
  parseReply,
  parseRequest,
  type Reply,
  type UpdateRequest,
} from '../src/index.ts';
import { findDuplicateKey } from '../src/json/duplicates.ts';
import { chunks, text, UPGRADE_REQUEST } from './helpers.ts';
import { buildTar } from './tar-builder.ts';

const SHA = 'a'.repeat(64);
const FPR = 'b'.repeat(40);
const accepted: Reply = {
  protocol: PROTOCOL_VERSION,
  status: 'accepted',
  packages: [{ file: 'x-1-1.noarch.rpm' as never, nevra: 'x-1-1.noarch', sha256: SHA, signer: FPR }],
};
const request: UpdateRequest = UPGRADE_REQUEST;

const line = (json: string): Uint8Array => text(`${json}\n`);
const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ReplyError || error instanceof RequestError) return error.code;
    throw error;
  }
  return 'ACCEPTED';
};

describe('duplicate keys', () => {
  it('rejects a reply whose status appears twice (JSON.parse would keep the last)', () => {
    const json = `{"protocol":"${PROTOCOL_VERSION}","status":"rejected","packages":[],"status":"accepted"}`;
    expect(() => parseReply(line(json))).toThrow(expect.objectContaining({ code: 'REPLY_BAD_JSON', message: expect.stringMatching(/"status" appears twice/) as unknown }));
  });

  it('rejects a duplicate spelled with a unicode escape', () => {
    const json = `{"protocol":"${PROTOCOL_VERSION}","status":"accepted","packages":[],"st\\u0061tus":"accepted"}`;
    expect(codeOf(() => parseReply(line(json)))).toBe('REPLY_BAD_JSON');
  });

  it('rejects a duplicate inside a nested object', () => {
    const json = `{"protocol":"${PROTOCOL_VERSION}","status":"rejected","packages":[],"error":{"code":"X","message":"a","code":"Y"}}`;
    expect(codeOf(() => parseReply(line(json)))).toBe('REPLY_BAD_JSON');
  });

  it('rejects duplicate keys in request.json, also inside the state-sync stream', async () => {
    const json = `{"protocol":"${PROTOCOL_VERSION}","action":"upgrade","action":"install","packages":["x"],"enableRepos":[],"disableRepos":[],"clean":false,"dnfOptions":[]}`;
    expect(codeOf(() => parseRequest(line(json)))).toBe('REQUEST_BAD_JSON');
    const decoding = (async () => {
      for await (const entry of decodeStateSync(chunks(buildTar([{ name: 'request.json', body: line(json) }])), DEFAULT_STATE_SYNC_LIMITS)) {
        expect(entry.kind).toBe('request');
      }
    })();
    await expect(decoding).rejects.toMatchObject({ code: 'STATE_BAD_REQUEST' });
  });

  it('does not confuse equal keys in different objects, or keys inside string values, with duplicates', () => {
    const two = { ...accepted, packages: [accepted.packages[0]!, { ...accepted.packages[0]!, file: 'y.rpm' as never }] };
    expect(parseReply(encodeReply(two))).toEqual(two);
    expect(findDuplicateKey('{"a":"\\",\\"a\\":1","b":{"a":1},"c":[{"a":1},{"a":2}]}')).toBeUndefined();
    expect(findDuplicateKey('{"a":"\\\\","a":1}')).toBe('a');
    expect(findDuplicateKey('[{"k":1,"k":2}]')).toBe('k');
    expect(findDuplicateKey('{"a":[1,{"b":2}],"b":3,"a":4}')).toBe('a');
    expect(findDuplicateKey('{}')).toBeUndefined();
  });
});

describe('prototype keys', () => {
  for (const key of ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty']) {
    it(`rejects a reply with a "${key}" field and leaves Object.prototype alone`, () => {
      const json = `{"protocol":"${PROTOCOL_VERSION}","status":"accepted","packages":[],"${key}":{"polluted":true,"status":"rejected"}}`;
      let issues: readonly string[] = [];
      try {
        parseReply(line(json));
      } catch (error) {
        if (error instanceof ReplyError) issues = error.issues;
      }
      expect(issues).toEqual([`reply.${key}: is not an allowed field`]);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    });
  }

  it('rejects __proto__ inside a package record and inside request.json', () => {
    const pkg = `{"__proto__":{"file":"x.rpm"},"file":"x.rpm","nevra":"x-1-1.noarch","sha256":"${SHA}","signer":"${FPR}"}`;
    expect(codeOf(() => parseReply(line(`{"protocol":"${PROTOCOL_VERSION}","status":"accepted","packages":[${pkg}]}`)))).toBe('REPLY_INVALID');
    const req = JSON.stringify(request).replace('{', '{"__proto__":{"action":"install"},');
    expect(codeOf(() => parseRequest(line(req)))).toBe('REQUEST_INVALID');
  });

  it('returns plain objects built from checked fields only', () => {
    const reply = parseReply(encodeReply(accepted));
    expect(Object.getPrototypeOf(reply)).toBe(Object.prototype);
    expect(Object.keys(reply)).toEqual(['protocol', 'status', 'packages']);
  });
});

describe('package records', () => {
  it('rejects two records for one file, also when the names differ only in case', () => {
    const pkg = accepted.packages[0]!;
    for (const second of [pkg.file, 'X-1-1.NOARCH.rpm']) {
      const reply = { ...accepted, packages: [pkg, { ...pkg, file: second }] };
      let issues: readonly string[] = [];
      try {
        parseReply(line(JSON.stringify(reply)));
      } catch (error) {
        if (error instanceof ReplyError) issues = error.issues;
      }
      expect(issues).toEqual(['reply.packages[1].file: repeats reply.packages[0].file']);
    }
  });
});

describe('numbers, nesting and floods', () => {
  it('rejects huge and special numbers where strings or booleans belong', () => {
    for (const value of ['1e999', '-1e999', '1e308', '9007199254740993', '0', '-0']) {
      expect(codeOf(() => parseRequest(line(JSON.stringify(request).replace('"clean":false', `"clean":${value}`))))).toBe('REQUEST_INVALID');
    }
    for (const value of ['NaN', 'Infinity', '0x10', '01', '+1', '.5']) {
      expect(codeOf(() => parseRequest(line(JSON.stringify(request).replace('"clean":false', `"clean":${value}`))))).toBe('REQUEST_BAD_JSON');
    }
  });

  it('rejects a million nested arrays without exhausting the stack', () => {
    const deep = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
    expect(codeOf(() => parseReply(line(`{"protocol":${deep},"status":"accepted","packages":[]}`)))).toBe('REPLY_INVALID');
    const deepObjects = `${'{"a":'.repeat(200_000)}1${'}'.repeat(200_000)}`;
    expect(codeOf(() => parseReply(line(`{"protocol":"${PROTOCOL_VERSION}","status":"accepted","packages":[${deepObjects}]}`)))).toBe('REPLY_INVALID');
  });

  it('lists at most 100 problems, then says how many more', () => {
    const keys = Array.from({ length: 200_000 }, (_, i) => `"k${i}":0`).join(',');
    let error: unknown;
    try {
      parseReply(line(`{${keys}}`));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ReplyError);
    const issues = (error as ReplyError).issues;
    expect(issues).toHaveLength(101);
    expect(issues.at(-1)).toMatch(/^and 199906 more problems$/);
    expect((error as ReplyError).message.length).toBeLessThanOrEqual(4096);
  });

  it('rejects too many packages before looking at them', () => {
    const pkgs = Array.from({ length: 4097 }, () => '0').join(',');
    let issues: readonly string[] = [];
    try {
      parseReply(line(`{"protocol":"${PROTOCOL_VERSION}","status":"accepted","packages":[${pkgs}]}`));
    } catch (error) {
      if (error instanceof ReplyError) issues = error.issues;
    }
    expect(issues).toEqual(['reply.packages: has more than 4096 items']);
  });
});

describe('encodings and framing', () => {
  const good = new TextDecoder().decode(encodeReply(accepted)).trimEnd();
  const cases: [string, Uint8Array, string][] = [
    ['a byte-order mark', Uint8Array.from([0xef, 0xbb, 0xbf, ...text(`${good}\n`)]), 'REPLY_BAD_JSON'],
    ['an overlong UTF-8 "/"', Uint8Array.from([...text(good.slice(0, -1)), 0xc0, 0xaf, ...text('}\n')]), 'REPLY_BAD_JSON'],
    ['a UTF-8-encoded surrogate', Uint8Array.from([...text(`${good} `), 0xed, 0xa0, 0x80, 0x0a]), 'REPLY_BAD_JSON'],
    ['a NUL byte after the value', Uint8Array.from([...text(good), 0x00, 0x0a]), 'REPLY_BAD_JSON'],
    ['a second value on the same line', text(`${good}${good}\n`), 'REPLY_BAD_JSON'],
    ['a newline inside', text(`${good.slice(0, 10)}\n${good.slice(10)}\n`), 'REPLY_BAD_FRAMING'],
    ['two newlines at the end', text(`${good}\n\n`), 'REPLY_BAD_FRAMING'],
    ['an empty line', text('\n'), 'REPLY_BAD_JSON'],
    ['nothing', new Uint8Array(0), 'REPLY_BAD_FRAMING'],
  ];
  for (const [what, bytes, code] of cases) {
    it(`rejects a reply with ${what} as ${code}`, () => {
      expect(codeOf(() => parseReply(bytes))).toBe(code);
    });
  }

  it('rejects a lone surrogate escape in the message as not sanitised', () => {
    const json = `{"protocol":"${PROTOCOL_VERSION}","status":"rejected","packages":[],"error":{"code":"X","message":"a\\ud800b"}}`;
    expect(codeOf(() => parseReply(line(json)))).toBe('REPLY_INVALID');
  });

  it('rejects escaped control and invisible characters in the message', () => {
    for (const escaped of ['\\u001b[2J', '\\u202e', '\\u0000', '\\u3164', '\\n']) {
      const json = `{"protocol":"${PROTOCOL_VERSION}","status":"rejected","packages":[],"error":{"code":"X","message":"a${escaped}"}}`;
      expect(codeOf(() => parseReply(line(json))), escaped).toBe('REPLY_INVALID');
    }
  });

  it('allows JSON whitespace between tokens, including a CR before the newline', () => {
    expect(parseReply(text(` ${good.replace(',', ' ,\t')} \r\n`))).toEqual(accepted);
  });
});

describe('random documents', () => {
  it('parseReply and parseRequest answer any JSON value with a result or their own error, nothing else', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        const bytes = line(JSON.stringify(value));
        for (const parse of [parseReply, parseRequest]) {
          try {
            parse(bytes);
          } catch (error) {
            expect(error instanceof ReplyError || error instanceof RequestError).toBe(true);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a request that parses re-encodes to the same request', () => {
    const mutated = fc.record({
      action: fc.constantFrom('upgrade', 'install', 'remove', 'check-only', ''),
      packages: fc.array(fc.oneof(fc.string(), fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._+-]{0,20}$/)), { maxLength: 3 }),
      clean: fc.oneof(fc.boolean(), fc.constant(null)),
    });
    fc.assert(
      fc.property(mutated, (patch) => {
        let parsed: UpdateRequest | undefined;
        try {
          parsed = parseRequest(line(JSON.stringify({ ...request, ...patch })));
        } catch (error) {
          expect(error).toBeInstanceOf(RequestError);
          return;
        }
        expect(parseRequest(encodeRequest(parsed))).toEqual(parsed);
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes never get past the parsers as anything but their errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(['REPLY_TOO_LARGE', 'REPLY_BAD_FRAMING', 'REPLY_BAD_JSON', 'REPLY_INVALID']).toContain(codeOf(() => parseReply(bytes)));
      }),
      { numRuns: 500 },
    );
  });
});
