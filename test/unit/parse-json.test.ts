import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidRequestError } from '../../lib/core/errors/request-errors.js';
import { MAX_JSON_DEPTH, parseJson } from '../../lib/core/tensor/parse-json.js';
import { httpStatusOf } from '../../lib/serving/http-errors.js';

/** Asserts that parsing fails with a 400 whose message matches. */
function assertRefused(text: string, message: RegExp): void {
  assert.throws(
    () => parseJson(text),
    (error: unknown) => {
      assert.ok(
        error instanceof InvalidRequestError,
        `expected an InvalidRequestError, got ${String(error)}`,
      );
      assert.equal(httpStatusOf(error), 400);
      assert.match(error.message, message);
      return true;
    },
  );
}

/** Nests `[`...`]` or `{"a":`...`}` this many levels deep around 0. */
function nested(levels: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? `${'['.repeat(levels)}0${']'.repeat(levels)}`
    : `${'{"a":'.repeat(levels)}0${'}'.repeat(levels)}`;
}

describe('parseJson: ordinary bodies parse as JSON.parse would', () => {
  it('returns the same value as JSON.parse for a typical V2 request', () => {
    const text = JSON.stringify({
      id: 'r1',
      inputs: [
        {
          name: 'x',
          shape: [2, 2],
          datatype: 'FP32',
          data: [
            [6.300000000000001, 1e-7],
            [-0.5, 3],
          ],
        },
      ],
    });
    assert.deepEqual(parseJson(text), JSON.parse(text));
  });

  it('parses scalars, empty containers and whitespace', () => {
    assert.equal(parseJson(' 42 '), 42);
    assert.equal(parseJson('"s"'), 's');
    assert.equal(parseJson('null'), null);
    assert.deepEqual(parseJson('{ }'), {});
    assert.deepEqual(parseJson('[\n]'), []);
  });

  it('keeps fraction digits and digit strings on the native path (they need no exact integers)', () => {
    assert.deepEqual(parseJson('[0.12345678901234567, "12345678901234567890"]'), [
      0.12345678901234566,
      '12345678901234567890',
    ]);
  });
});

describe('parseJson: integer literals beyond 2^53 stay exact', () => {
  it('returns INT64 and UINT64 extremes as bigint', () => {
    assert.deepEqual(parseJson('[9223372036854775807, -9223372036854775808, 18446744073709551615]'), [
      9223372036854775807n,
      -9223372036854775808n,
      18446744073709551615n,
    ]);
  });

  it('returns 2^53 + 1 as bigint and 2^53 - 1 as number', () => {
    assert.deepEqual(parseJson('[9007199254740993, 9007199254740991]'), [
      9007199254740993n,
      9007199254740991,
    ]);
  });

  it('returns every other number as a number on the exact path', () => {
    const value = parseJson(
      '{"big": 12345678901234567890, "f": 1.5, "e": -2.5e-3, "z": -0, "small": 7, "long": 0.10000000149011612}',
    );
    assert.deepEqual(value, {
      big: 12345678901234567890n,
      f: 1.5,
      e: -0.0025,
      z: -0,
      small: 7,
      long: 0.10000000149011612,
    });
  });

  it('returns strings, booleans, null and escapes like JSON.parse on the exact path', () => {
    const text =
      '{"n": 12345678901234567890, "s": "q\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00", "t": true, "f": false, "z": null, "a": [{}, []]}';
    const value = parseJson(text) as Record<string, unknown>;
    const reference = JSON.parse(text.replace('12345678901234567890', '0'));
    assert.deepEqual({ ...value, n: 0 }, reference);
  });

  it('refuses a key given twice on the exact path, naming it', () => {
    assertRefused('{"a": 1, "a": 12345678901234567890}', /JSON object key "a" appears more than once/);
  });
});

describe('parseJson: malformed JSON is a 400 that says why', () => {
  for (const text of ['{"a":}', '{"a":1', '[1,]', '[1 2]', "{'a':1}", 'NaN', '01', '', '"unterminated']) {
    it(`refuses ${JSON.stringify(text)}`, () => assertRefused(text, /^malformed JSON: /));
  }

  for (const text of [
    '[12345678901234567890,]',
    '[12345678901234567890',
    '{"a" 12345678901234567890}',
    '[12345678901234567890] x',
    '[12345678901234567890, 01]',
    '[12345678901234567890, 1.]',
    '[12345678901234567890, 1e]',
    '[12345678901234567890, "\\x"]',
    '[12345678901234567890, "\\u12g4"]',
    '[12345678901234567890, "a\nb"]',
    '[12345678901234567890, tru]',
    '{12345678901234567890: 1}',
  ]) {
    it(`refuses ${JSON.stringify(text)} on the exact path`, () => assertRefused(text, /^malformed JSON: /));
  }

  it('points at the position of the problem, on either path, with one character of the body at most', () => {
    assertRefused(
      '[12345678901234567890, ?]',
      /^malformed JSON: unexpected "\?" at position 23, expected a JSON value$/,
    );
    assertRefused('[1, ?]', /^malformed JSON: unexpected "\?" at position 4, expected a JSON value$/);
  });

  it('never quotes a run of the body (binary bytes included), only the one character found, JSON-escaped', () => {
    const binary = '\u001f\u008b\b\u0000\u0000\u0000\u0000\u0000\u0000\u0003secret-looking-bytes';
    assertRefused(binary, /^malformed JSON: unexpected "\\u001f" at position 0, expected a JSON value$/);
    assertRefused(`{"inputs": ${binary}}`, /^malformed JSON: unexpected "\\u001f" at position 11/);
    assert.throws(
      () => parseJson(`{"a": 1, "b": secret-looking-bytes}`),
      (error: Error) => {
        assert.doesNotMatch(error.message, /secret|looking/);
        return true;
      },
    );
  });
});

describe('parseJson: a key given twice in one object is refused, naming it (JSON.parse would keep the last)', () => {
  for (const [what, text, key] of [
    ['at the top level', '{"inputs": [], "inputs": [{"name": "x"}]}', 'inputs'],
    ['in a nested object', '{"a": 1, "b": {"a": 2, "a": 3}}', 'a'],
    ['inside an array of objects', '[{"x": 1}, {"y": 2, "y": 2}]', 'y'],
    ['when the second value is an object', '{"k": 1, "k": {"z": 1}}', 'k'],
    ['when the first value holds colons', '{"k": "a:b:c", "k": 1}', 'k'],
    ['when one spelling is escaped', '{"inputs": [], "\\u0069nputs": []}', 'inputs'],
    ['when a string holds an escaped colon', '{"s": "\\u003a", "k": 1, "k": 2}', 'k'],
    ['when the repeat has an empty key', '{"": 1, "": 2}', ''],
  ] as const) {
    it(`refuses a repeated key ${what}`, () => {
      assertRefused(text, new RegExp(`JSON object key ${JSON.stringify(key)} appears more than once`));
    });
  }

  for (const [what, text] of [
    ['colons in keys and values', '{"a:b": "c:d", "e": [":", "::"], "f": {"g": ":"}}'],
    ['escaped colons', '{"\\u003a": "\\u003A\\u003a", "b": ":"}'],
    ['an escaped backslash before "u003a" (no colon)', '{"a": "\\\\u003a", "b": 1}'],
    ['the same key in sibling objects', '[{"a": 1}, {"a": 2}, {"a": {"a": 3}}]'],
    ['a string at the top level', '"a:b"'],
  ] as const) {
    it(`accepts ${what} exactly as JSON.parse reads them`, () => {
      assert.deepEqual(parseJson(text), JSON.parse(text));
    });
  }
});

describe('parseJson: numbers that overflow a double are refused (JSON has no Infinity)', () => {
  it('refuses 1e400 and -1e400 on the native path', () => {
    assertRefused('{"data": [1, 1e400]}', /beyond the range of a 64-bit float/);
    assertRefused('[-1e400]', /beyond the range of a 64-bit float/);
    assertRefused('1e400', /beyond the range of a 64-bit float/);
  });

  it('refuses 1e400 on the exact path', () => {
    assertRefused('[12345678901234567890, 1e400]', /1e400 is beyond the range of a 64-bit float/);
  });

  it('keeps a 400-digit integer literal exact rather than overflowing', () => {
    const literal = `1${'0'.repeat(400)}`;
    assert.deepEqual(parseJson(`[${literal}]`), [BigInt(literal)]);
  });
});

describe('parseJson: "__proto__" keys are refused', () => {
  it('refuses a plain "__proto__" key on the native path', () => {
    assertRefused('{"inputs": [{"__proto__": {"polluted": true}}]}', /"__proto__" is not accepted/);
  });

  it('refuses an escaped "\\u005f_proto__" key on the native path', () => {
    assertRefused('{"\\u005f_proto__": {"polluted": true}}', /"__proto__" is not accepted/);
    assertRefused('{"a": {"__pr\\u006fto__": 1}}', /"__proto__" is not accepted/);
  });

  it('refuses plain and escaped "__proto__" keys on the exact path', () => {
    assertRefused('{"n": 12345678901234567890, "__proto__": {}}', /"__proto__" is not accepted/);
    assertRefused('{"n": 12345678901234567890, "\\u005f_proto__": {}}', /"__proto__" is not accepted/);
  });

  it('accepts "__proto__" as a string value and never touches Object.prototype', () => {
    assert.deepEqual(parseJson('{"name": "__proto__"}'), { name: '__proto__' });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe(`parseJson: nesting is limited to ${MAX_JSON_DEPTH} levels without overflowing the stack`, () => {
  for (const kind of ['array', 'object'] as const) {
    it(`accepts ${MAX_JSON_DEPTH} levels of ${kind}s and refuses ${MAX_JSON_DEPTH + 1}`, () => {
      assert.doesNotThrow(() => parseJson(nested(MAX_JSON_DEPTH, kind)));
      assertRefused(nested(MAX_JSON_DEPTH + 1, kind), /JSON nesting deeper than 64/);
    });

    it(`refuses 10000 levels of ${kind}s with a clear error on the native path`, () => {
      assertRefused(nested(10000, kind), /JSON nesting deeper than 64/);
    });

    it(`refuses 10000 levels of ${kind}s with a clear error on the exact path`, () => {
      assertRefused(`[12345678901234567890, ${nested(10000, kind)}]`, /JSON nesting deeper than 64/);
    });
  }

  it('refuses a large deeply nested body before the native parser walks it', () => {
    assertRefused(nested(1_000_000, 'array'), /JSON nesting deeper than 64/);
  });

  it('does not count brackets inside strings in a large body', () => {
    const text = JSON.stringify({ padding: 'x'.repeat(300 * 1024), brackets: '['.repeat(1000), data: [[1]] });
    assert.deepEqual((parseJson(text) as { data: unknown }).data, [[1]]);
  });
});
