import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TENSOR_DATATYPES, type TensorDatatype } from '../../lib/core/tensor/datatypes.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import {
  bodyOf,
  ErrorBodySchema,
  readMetrics,
  sample,
  startTestStack,
  type TestStack,
} from '../fixtures/local-stack.js';
import { identityModel } from '../fixtures/models.js';

/**
 * One round trip: the JSON literals sent as `data`, exactly as they appear in the raw request body, and
 * the literals the response must carry (the same ones unless said otherwise). Floats are written in
 * JavaScript's shortest round-trip form, which is also how the server writes FP64; FP32 and FP16 answers are the
 * shortest texts that read back as the same float32 (half), so those are given as `echoed`. Text compares exactly.
 */
interface RoundTrip {
  readonly datatype: TensorDatatype;
  readonly what: string;
  readonly literals: readonly string[];
  readonly echoed?: readonly string[];
}

const numbers = (...values: number[]): string[] => values.map(String);
const strings = (...values: string[]): string[] => values.map((value) => JSON.stringify(value));

const ROUND_TRIPS: readonly RoundTrip[] = [
  { datatype: 'BOOL', what: 'true and false', literals: ['true', 'false', 'false', 'true'] },
  { datatype: 'UINT8', what: 'the full range', literals: numbers(0, 1, 128, 255) },
  { datatype: 'UINT16', what: 'the full range', literals: numbers(0, 65535) },
  { datatype: 'UINT32', what: 'the full range', literals: numbers(0, 2147483648, 4294967295) },
  {
    datatype: 'UINT64',
    what: 'values beyond 2^53 up to 2^64 - 1',
    literals: ['0', '9007199254740993', '18446744073709551615'],
  },
  { datatype: 'INT8', what: 'the full range', literals: numbers(-128, -1, 0, 127) },
  { datatype: 'INT16', what: 'the full range', literals: numbers(-32768, 32767) },
  { datatype: 'INT32', what: 'the full range', literals: numbers(-2147483648, 0, 2147483647) },
  {
    datatype: 'INT64',
    what: 'the extremes and integers just past 2^53',
    literals: [
      '9223372036854775807',
      '-9223372036854775808',
      '9007199254740993',
      '-9007199254740993',
      '9007199254740992',
      '0',
    ],
  },
  {
    datatype: 'FP16',
    what: 'values exactly representable in half precision',
    literals: numbers(
      0,
      1,
      -2,
      0.5,
      1.5,
      3.140625,
      0.333251953125, // the half nearest to 1/3 (0x3555)
      0.0999755859375, // the half nearest to 0.1 (0x2e66)
      65504, // largest finite half
      -65504,
      2 ** -14, // smallest normal half
      2 ** -24, // smallest subnormal half
    ),
    echoed: ['0', '1', '-2', '0.5', '1.5', '3.14', '0.3333', '0.1', '65500', '-65500', '0.00006104', '6e-8'],
  },
  {
    datatype: 'FP32',
    what: 'values exactly representable in single precision',
    literals: numbers(
      0,
      0.5,
      -1.25,
      Math.fround(0.1),
      16777216,
      3.4028234663852886e38, // largest finite float
      -3.4028234663852886e38,
      1.401298464324817e-45, // smallest subnormal float
    ),
    echoed: ['0', '0.5', '-1.25', '0.1', '16777216', '3.4028235e+38', '-3.4028235e+38', '1e-45'],
  },
  {
    datatype: 'FP64',
    what: 'full double precision',
    literals: numbers(
      0.1,
      1 / 3,
      Math.PI,
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
      Number.MIN_VALUE,
      Number.EPSILON,
      123456789.12345679,
      1e21,
    ),
  },
  {
    datatype: 'BYTES',
    what: 'unicode, quotes, backslashes, control characters and the empty string',
    literals: strings(
      'hello',
      'ünïcödé, 日本語, emoji 🚀👩‍💻',
      'with "double quotes" and \'single\'',
      'back\\slash and /slash',
      'line\nbreak\ttab\u0001control',
      '',
      'null',
      '[1,2]',
    ),
  },
];

function modelName(datatype: TensorDatatype): string {
  return `id-${datatype.toLowerCase()}`;
}

/** The raw body of a V2 request for the identity model of `datatype`, with `data` spliced in as text. */
function rawRequest(datatype: TensorDatatype, shape: readonly number[], dataText: string): string {
  return `{"inputs":[{"name":"x","shape":[${shape.join(',')}],"datatype":"${datatype}","data":${dataText}}]}`;
}

/** The raw text of the output tensor the identity model must answer with. */
function rawOutput(datatype: TensorDatatype, shape: readonly number[], literals: readonly string[]): string {
  return `{"name":"y","datatype":"${datatype}","shape":[${shape.join(',')}],"data":[${literals.join(',')}]}`;
}

let test: TestStack;

before(async () => {
  test = await startTestStack({ publishSamples: false });
  for (const datatype of TENSOR_DATATYPES) {
    await publishVersion(test.stack.registry, {
      name: modelName(datatype),
      model: identityModel(datatype, [-1]),
    });
  }
  await publishVersion(test.stack.registry, {
    name: 'id-int64-matrix',
    model: identityModel('INT64', [-1, 2]),
  });
});

after(async () => {
  await test?.stop();
});

describe('V2 datatypes over HTTP: every datatype round-trips exactly through an identity model', () => {
  it('covers all 13 V2 datatypes', () => {
    assert.deepEqual(
      [...new Set(ROUND_TRIPS.map((trip) => trip.datatype))].sort(),
      [...TENSOR_DATATYPES].sort(),
    );
  });

  for (const trip of ROUND_TRIPS) {
    it(`${trip.datatype}: ${trip.what}`, async () => {
      const shape = [trip.literals.length];
      const reply = await test.request(
        'POST',
        `/v2/models/${modelName(trip.datatype)}/infer`,
        rawRequest(trip.datatype, shape, `[${trip.literals.join(',')}]`),
      );
      assert.equal(reply.status, 200, reply.text);
      // Compared as raw text: JSON.parse would round 64-bit integers beyond 2^53.
      const expected = rawOutput(trip.datatype, shape, trip.echoed ?? trip.literals);
      assert.ok(reply.text.includes(expected), `expected ${expected}\n     got ${reply.text}`);
    });
  }

  it('INT64: nested data beyond 2^53 comes back flat and exact', async () => {
    const reply = await test.request(
      'POST',
      '/v2/models/id-int64-matrix/infer',
      rawRequest('INT64', [2, 2], '[[9223372036854775807, -1], [9007199254740993, -9223372036854775808]]'),
    );
    assert.equal(reply.status, 200, reply.text);
    assert.ok(
      reply.text.includes(
        rawOutput('INT64', [2, 2], ['9223372036854775807', '-1', '9007199254740993', '-9223372036854775808']),
      ),
      reply.text,
    );
  });

  it('INT64 and UINT64: decimal strings are taken as exact values and answered as integer literals', async () => {
    const int64 = await test.request(
      'POST',
      '/v2/models/id-int64/infer',
      rawRequest('INT64', [3], '["9223372036854775807", "-9223372036854775808", "9007199254740993"]'),
    );
    assert.equal(int64.status, 200, int64.text);
    assert.ok(
      int64.text.includes(
        rawOutput('INT64', [3], ['9223372036854775807', '-9223372036854775808', '9007199254740993']),
      ),
      int64.text,
    );
    const uint64 = await test.request(
      'POST',
      '/v2/models/id-uint64/infer',
      rawRequest('UINT64', [1], '["18446744073709551615"]'),
    );
    assert.equal(uint64.status, 200, uint64.text);
    assert.ok(uint64.text.includes(rawOutput('UINT64', [1], ['18446744073709551615'])), uint64.text);
  });

  it('INT64 through the simple form: predictions keep integers beyond 2^53 exact', async () => {
    const reply = await test.request(
      'POST',
      '/models/id-int64/predict',
      '{"instances": [9223372036854775807, -9223372036854775808, 9007199254740993, 42]}',
    );
    assert.equal(reply.status, 200, reply.text);
    assert.ok(
      reply.text.includes('"predictions":[9223372036854775807,-9223372036854775808,9007199254740993,42]'),
      reply.text,
    );
  });

  it('FP16: a value between halves is rounded to the nearest half', async () => {
    const reply = await test.request(
      'POST',
      '/v2/models/id-fp16/infer',
      rawRequest('FP16', [2], '[0.1, 1.0004]'),
    );
    assert.equal(reply.status, 200, reply.text);
    // 0.1's half is 0.0999755859375, whose shortest text is 0.1 again.
    assert.ok(reply.text.includes(rawOutput('FP16', [2], ['0.1', '1'])), reply.text);
  });
});

describe('V2 datatypes over HTTP: 64-bit integers that a JSON number cannot carry exactly are refused', () => {
  /** Request data for one INT64 or UINT64 element, and what the 400 must say. */
  const REFUSALS: readonly { datatype: 'INT64' | 'UINT64'; literal: string; says: RegExp }[] = [
    {
      datatype: 'INT64',
      literal: '9.007199254740993e15',
      says: /data\[0\].*2\^53.*integer literals or decimal strings/,
    },
    {
      datatype: 'INT64',
      literal: '9007199254740993.0',
      says: /data\[0\].*2\^53.*integer literals or decimal strings/,
    },
    { datatype: 'INT64', literal: '-9.3e18', says: /data\[0\].*2\^53/ },
    { datatype: 'UINT64', literal: '1.8e19', says: /data\[0\].*2\^53/ },
    { datatype: 'INT64', literal: '1.5', says: /data\[0\] is 1\.5: not an integer/ },
    { datatype: 'INT64', literal: '9223372036854775808', says: /data\[0\].*out of range for INT64/ },
    { datatype: 'INT64', literal: '-9223372036854775809', says: /data\[0\].*out of range for INT64/ },
    { datatype: 'INT64', literal: '"92233720368547758070"', says: /data\[0\].*out of range for INT64/ },
    { datatype: 'INT64', literal: '"12abc"', says: /data\[0\] is "12abc".*expected an integer/ },
    { datatype: 'INT64', literal: '"1e3"', says: /data\[0\] is "1e3".*expected an integer/ },
    { datatype: 'INT64', literal: 'true', says: /data\[0\] is true.*expected an integer/ },
    { datatype: 'UINT64', literal: '-1', says: /data\[0\] is -1: out of range for UINT64/ },
    { datatype: 'UINT64', literal: '18446744073709551616', says: /data\[0\].*out of range for UINT64/ },
  ];

  for (const { datatype, literal, says } of REFUSALS) {
    it(`${datatype} ${literal} → 400 saying why`, async () => {
      const reply = await test.request(
        'POST',
        `/v2/models/${modelName(datatype)}/infer`,
        rawRequest(datatype, [1], `[${literal}]`),
      );
      assert.equal(reply.status, 400, reply.text);
      const { error } = bodyOf(reply, ErrorBodySchema);
      assert.match(error, /^input "x": /);
      assert.match(error, says);
    });
  }
});

describe('V2 datatypes over HTTP: non-finite outputs are counted as invalid, whatever the float type', () => {
  it('counts NaN and infinities of FP32, FP64 and FP16 answers (FP16 by its bits), and nothing of integers', async () => {
    const before = await readMetrics(test);
    const invalid = (datatype: TensorDatatype, metrics: Map<string, number>) =>
      metrics.get(sample('sluice_invalid_outputs_total', modelName(datatype), 1)) ?? 0;
    // Binary inputs carry the bit patterns JSON cannot: NaN, +Inf, -Inf and a finite value.
    const send = async (datatype: TensorDatatype, bytes: Uint8Array, count: number) => {
      const header = JSON.stringify({
        inputs: [{ name: 'x', datatype, shape: [count], parameters: { binary_data_size: bytes.byteLength } }],
      });
      const response = await fetch(`${test.stack.apiUrl}/v2/models/${modelName(datatype)}/infer`, {
        method: 'POST',
        body: Buffer.concat([Buffer.from(header), bytes]),
        headers: {
          'content-type': 'application/octet-stream',
          'inference-header-content-length': String(header.length),
        },
      });
      assert.equal(response.status, 200, await response.text());
    };
    await send(
      'FP32',
      new Uint8Array(Float32Array.from([Number.NaN, Number.POSITIVE_INFINITY, -Infinity, 1]).buffer),
      4,
    );
    await send('FP64', new Uint8Array(Float64Array.from([Number.NaN, 2]).buffer), 2);
    await send('FP16', new Uint8Array(Uint16Array.from([0x7e00, 0x7c00, 0xfc00, 0x3c00]).buffer), 4);
    await send('INT32', new Uint8Array(Int32Array.from([-1, 0]).buffer), 2);
    const after = await readMetrics(test);
    assert.deepEqual(
      (['FP32', 'FP64', 'FP16', 'INT32'] as const).map(
        (datatype) => invalid(datatype, after) - invalid(datatype, before),
      ),
      [3, 1, 3, 0],
    );
  });
});
