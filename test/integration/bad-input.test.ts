import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_REQUEST_BYTES } from '../../lib/core/contract/limits.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import {
  bodyOf,
  ErrorBodySchema,
  type HttpReply,
  readMetrics,
  sample,
  startTestStack,
  type TestStack,
} from '../fixtures/local-stack.js';
import { identityModel, twoInputModel } from '../fixtures/models.js';

const SETOSA = [5.1, 3.5, 1.4, 0.2];

/** One malformed request and the refusal it must get. */
interface BadRequestCase {
  readonly title: string;
  readonly method?: string;
  readonly path?: string;
  /** Sent as is when a string, as JSON otherwise. */
  readonly body?: string | object;
  readonly status: number;
  /** What the error message must say. */
  readonly says: RegExp;
  /** The model version whose rejected-inputs counter this refusal adds to, when the request got that far. */
  readonly counts?: 'iris' | 'uint8' | 'fp32' | 'adder';
}

const IRIS_INFER = '/v2/models/iris/infer';

/** A V2 request for iris with one `features` tensor; `tensor` overrides its fields. */
function iris(tensor: Record<string, unknown> = {}, request: Record<string, unknown> = {}): object {
  return {
    inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [SETOSA], ...tensor }],
    ...request,
  };
}

/** The raw text of an iris request whose `data` is the given JSON text. */
function irisWithData(dataText: string, shape = '[1,4]'): string {
  return `{"inputs":[{"name":"features","shape":${shape},"datatype":"FP32","data":${dataText}}]}`;
}

/** The raw text of a request for one of the identity models (input "x", one element). */
function single(datatype: string, dataText: string): string {
  return `{"inputs":[{"name":"x","shape":[1],"datatype":"${datatype}","data":${dataText}}]}`;
}

const CASES: readonly BadRequestCase[] = [
  // The body is not JSON, or not JSON we take.
  { title: 'malformed JSON', body: '{"inputs": [', status: 400, says: /malformed JSON/, counts: 'iris' },
  {
    title: 'JSON with a trailing comma',
    body: '{"inputs": [],}',
    status: 400,
    says: /malformed JSON/,
    counts: 'iris',
  },
  { title: 'an empty body', body: '', status: 400, says: /body is required/, counts: 'iris' },
  { title: 'a JSON array instead of an object', body: '[1, 2]', status: 400, says: /object/, counts: 'iris' },
  { title: 'JSON null', body: 'null', status: 400, says: /object/, counts: 'iris' },
  {
    title: 'NaN as a literal',
    body: irisWithData('[[NaN, 1, 2, 3]]'),
    status: 400,
    says: /malformed JSON/,
    counts: 'iris',
  },
  {
    title: 'Infinity as a literal',
    body: irisWithData('[[Infinity, 1, 2, 3]]'),
    status: 400,
    says: /malformed JSON/,
    counts: 'iris',
  },
  {
    title: '-Infinity as a literal',
    body: irisWithData('[[-Infinity, 1, 2, 3]]'),
    status: 400,
    says: /malformed JSON/,
    counts: 'iris',
  },
  {
    title: 'NaN as a string',
    body: irisWithData('[["NaN", 1, 2, 3]]'),
    status: 400,
    says: /input "features": data\[0\]\[0\] is "NaN": expected a finite number/,
    counts: 'iris',
  },
  {
    title: 'Infinity as a string',
    body: irisWithData('[[1, "Infinity", 2, 3]]'),
    status: 400,
    says: /input "features": data\[0\]\[1\] is "Infinity": expected a finite number/,
    counts: 'iris',
  },
  {
    title: 'a number beyond double range (1e400)',
    body: irisWithData('[[1e400, 1, 2, 3]]'),
    status: 400,
    says: /malformed JSON: .*beyond the range of a 64-bit float/,
    counts: 'iris',
  },
  {
    title: 'nesting 100000 levels deep, unclosed',
    body: `{"inputs":${'['.repeat(100_000)}`,
    status: 400,
    says: /malformed JSON|nesting deeper than/,
    counts: 'iris',
  },
  {
    title: 'nesting 100000 levels deep, balanced',
    body: irisWithData(`${'['.repeat(100_000)}${']'.repeat(100_000)}`),
    status: 400,
    says: /nesting deeper than 64 levels/,
    counts: 'iris',
  },
  {
    title: 'nesting 400000 levels deep, balanced (a body big enough to be scanned before parsing)',
    body: irisWithData(`${'['.repeat(400_000)}${']'.repeat(400_000)}`),
    status: 400,
    says: /nesting deeper than 64 levels/,
    counts: 'iris',
  },
  {
    title: 'nesting 100000 levels deep next to an integer beyond 2^53',
    body: `{"id":"x","parameters":{"n":9007199254740993},"inputs":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
    status: 400,
    says: /nesting deeper than 64 levels/,
    counts: 'iris',
  },
  {
    title: 'a "__proto__" key at the top level',
    body: `{"__proto__": {"polluted": true}, ${JSON.stringify(iris()).slice(1)}`,
    status: 400,
    says: /"__proto__" is not accepted/,
    counts: 'iris',
  },
  {
    title: 'a "__proto__" key inside a tensor',
    body: irisWithData(`[${JSON.stringify(SETOSA)}], "__proto__": {"name": "x"}`),
    status: 400,
    says: /"__proto__" is not accepted/,
    counts: 'iris',
  },
  {
    title: 'an escaped "\\u005f_proto__" key',
    body: `{"\\u005f_proto__": {"polluted": true}, ${JSON.stringify(iris()).slice(1)}`,
    status: 400,
    says: /"__proto__" is not accepted/,
    counts: 'iris',
  },
  {
    title: 'an escaped "\\u005f_proto__" key in a body that takes the exact-integer parser',
    body: `{"\\u005f_proto__": {"n": 9007199254740993}, ${JSON.stringify(iris()).slice(1)}`,
    status: 400,
    says: /"__proto__" is not accepted/,
    counts: 'iris',
  },

  // The request does not follow the V2 schema.
  {
    title: 'an unknown top-level field',
    body: iris({}, { foo: 1 }),
    status: 400,
    says: /foo/,
    counts: 'iris',
  },
  { title: 'no "inputs"', body: { id: 'r' }, status: 400, says: /inputs/, counts: 'iris' },
  { title: 'an empty "inputs"', body: { inputs: [] }, status: 400, says: /inputs/, counts: 'iris' },
  { title: 'a numeric "id"', body: iris({}, { id: 7 }), status: 400, says: /id/, counts: 'iris' },
  {
    title: 'an unknown tensor field',
    body: iris({ dtype: 'FP32' }),
    status: 400,
    says: /dtype/,
    counts: 'iris',
  },
  {
    title: 'an unknown output requested',
    body: iris({}, { outputs: [{ name: 'logits' }] }),
    status: 400,
    says: /unknown output "logits".*"label", "probabilities"/,
    counts: 'iris',
  },

  // The tensors do not match the model's signature.
  {
    title: 'a missing input',
    path: '/v2/models/adder/infer',
    body: { inputs: [{ name: 'a', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] },
    status: 400,
    says: /missing input "b"/,
    counts: 'adder',
  },
  {
    title: 'an extra input',
    path: '/v2/models/adder/infer',
    body: {
      inputs: ['a', 'b', 'c'].map((name) => ({ name, shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] })),
    },
    status: 400,
    says: /unknown input "c".*"a", "b"/,
    counts: 'adder',
  },
  {
    title: 'inputs that disagree on a batch dimension they share',
    path: '/v2/models/adder/infer',
    body: {
      inputs: [
        { name: 'a', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] },
        { name: 'b', shape: [3, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6, 7, 8, 9] },
      ],
    },
    status: 400,
    says: /inputs "a" and "b" share dimension "batch".*"a" has 2, "b" has 3/,
    counts: 'adder',
  },
  {
    title: 'simple-form inputs that disagree on a batch dimension they share',
    path: '/models/adder/predict',
    body: {
      inputs: {
        a: [[1, 2, 3]],
        b: [
          [1, 2, 3],
          [4, 5, 6],
        ],
      },
    },
    status: 400,
    says: /inputs "a" and "b" share dimension "batch".*"a" has 1, "b" has 2/,
    counts: 'adder',
  },
  {
    title: 'a misnamed input',
    body: iris({ name: 'feature' }),
    status: 400,
    says: /unknown input "feature".*"features"/,
    counts: 'iris',
  },
  {
    title: 'a duplicate input',
    body: {
      inputs: [...(iris() as { inputs: unknown[] }).inputs, ...(iris() as { inputs: unknown[] }).inputs],
    },
    status: 400,
    says: /input "features" is given more than once/,
    counts: 'iris',
  },
  {
    title: 'a wrong datatype',
    body: iris({ datatype: 'FP64' }),
    status: 400,
    says: /input "features": datatype is "FP64", expected FP32/,
    counts: 'iris',
  },
  {
    title: 'an unknown datatype',
    body: iris({ datatype: 'FLOAT' }),
    status: 400,
    says: /input "features": datatype is "FLOAT", expected FP32/,
    counts: 'iris',
  },
  {
    title: 'a shape of the wrong rank',
    body: iris({ shape: [4], data: SETOSA }),
    status: 400,
    says: /input "features": shape has rank 1, expected rank 2/,
    counts: 'iris',
  },
  {
    title: 'a shape that breaks a fixed dimension',
    body: iris({ shape: [1, 5], data: [...SETOSA, 1] }),
    status: 400,
    says: /input "features": dimension 1 is 5, expected 4/,
    counts: 'iris',
  },
  {
    title: 'a shape with a negative dimension',
    body: iris({ shape: [-1, 4] }),
    status: 400,
    says: /input "features": shape\[0\] is -1, expected a non-negative integer/,
    counts: 'iris',
  },
  {
    title: 'a shape that is not an array',
    body: iris({ shape: '1,4' }),
    status: 400,
    says: /input "features": shape must be an array/,
    counts: 'iris',
  },
  {
    title: 'a shape with more elements than any tensor may have',
    body: iris({ shape: [100_000_000, 4] }),
    status: 400,
    says: /input "features": shape \[100000000,4\] has more than \d+ elements/,
    counts: 'iris',
  },
  {
    title: 'flat data with fewer elements than the shape',
    body: iris({ shape: [2, 4], data: SETOSA }),
    status: 400,
    says: /input "features": shape \[2,4\] needs 8 values, data has 4/,
    counts: 'iris',
  },
  {
    title: 'nested data with more rows than the shape',
    body: iris({ shape: [1, 4], data: [SETOSA, SETOSA] }),
    status: 400,
    says: /input "features": .*has 2 elements, expected 1/,
    counts: 'iris',
  },
  {
    title: 'ragged nested data',
    body: iris({ shape: [2, 4], data: [SETOSA, [1, 2, 3]] }),
    status: 400,
    says: /input "features": data\[1\] has 3 elements, expected 4/,
    counts: 'iris',
  },
  {
    title: 'data that is not an array',
    body: iris({ data: 'abc' }),
    status: 400,
    says: /input "features": data must be an array/,
    counts: 'iris',
  },
  {
    title: 'a string where a number belongs',
    body: iris({ data: [[5.1, '3.5', 1.4, 0.2]] }),
    status: 400,
    says: /input "features": data\[0\]\[1\] is "3.5": expected a finite number \(FP32\)/,
    counts: 'iris',
  },
  {
    title: 'null where a number belongs',
    body: iris({ data: [[5.1, null, 1.4, 0.2]] }),
    status: 400,
    says: /input "features": data\[0\]\[1\] is null/,
    counts: 'iris',
  },
  {
    title: 'an FP32 value beyond float range (1e39)',
    path: '/v2/models/fp32/infer',
    body: single('FP32', '[1e39]'),
    status: 400,
    says: /input "x": data\[0\] is 1e\+39: out of range for FP32/,
    counts: 'fp32',
  },
  {
    title: 'a UINT8 value out of range (300)',
    path: '/v2/models/uint8/infer',
    body: single('UINT8', '[300]'),
    status: 400,
    says: /input "x": data\[0\] is 300: out of range for UINT8 \(0 to 255\)/,
    counts: 'uint8',
  },
  {
    title: 'a negative UINT8 value',
    path: '/v2/models/uint8/infer',
    body: single('UINT8', '[-1]'),
    status: 400,
    says: /input "x": data\[0\] is -1: out of range for UINT8/,
    counts: 'uint8',
  },
  {
    title: 'a fractional UINT8 value',
    path: '/v2/models/uint8/infer',
    body: single('UINT8', '[2.5]'),
    status: 400,
    says: /input "x": data\[0\] is 2.5: not an integer/,
    counts: 'uint8',
  },

  // The simple form.
  {
    title: 'simple form: both "instances" and "inputs"',
    path: '/models/iris/predict',
    body: { instances: [SETOSA], inputs: { features: [SETOSA] } },
    status: 400,
    says: /exactly one of "instances".*or "inputs"/,
    counts: 'iris',
  },
  {
    title: 'simple form: neither "instances" nor "inputs"',
    path: '/models/iris/predict',
    body: {},
    status: 400,
    says: /exactly one of "instances".*or "inputs"/,
    counts: 'iris',
  },
  {
    title: 'simple form: a misnamed input',
    path: '/models/iris/predict',
    body: { inputs: { feature: [SETOSA] } },
    status: 400,
    says: /unknown input "feature"/,
    counts: 'iris',
  },
  {
    title: 'simple form: no value for the input',
    path: '/models/iris/predict',
    body: { inputs: {} },
    status: 400,
    says: /missing input "features"/,
    counts: 'iris',
  },
  {
    title: 'simple form: rows of the wrong width',
    path: '/models/iris/predict',
    body: { instances: [[1, 2, 3]] },
    status: 400,
    says: /input "features": dimension 1 is 3, expected 4/,
    counts: 'iris',
  },
  {
    title: 'simple form: ragged rows',
    path: '/models/iris/predict',
    body: { instances: [SETOSA, [1, 2]] },
    status: 400,
    says: /input "features": data\[1\] has 2 elements, expected 4/,
    counts: 'iris',
  },
  {
    title: 'simple form: flat values instead of rows',
    path: '/models/iris/predict',
    body: { instances: SETOSA },
    status: 400,
    says: /input "features": shape has rank 1, expected rank 2/,
    counts: 'iris',
  },

  // The route names no model, version or operation.
  {
    title: 'an unknown model',
    path: '/v2/models/nope/infer',
    body: iris(),
    status: 404,
    says: /unknown model "nope"/,
  },
  {
    title: 'an unknown model (name not allowed in the registry)',
    path: '/v2/models/IRIS/infer',
    body: iris(),
    status: 404,
    says: /unknown model "IRIS"/,
  },
  {
    title: 'an unknown model in the simple form',
    path: '/models/nope/predict',
    body: { instances: [SETOSA] },
    status: 404,
    says: /unknown model "nope"/,
  },
  {
    title: 'metadata of an unknown model',
    method: 'GET',
    path: '/v2/models/nope',
    status: 404,
    says: /unknown model "nope"/,
  },
  {
    title: 'an unknown version',
    path: '/v2/models/iris/versions/99/infer',
    body: iris(),
    status: 404,
    says: /model "iris" has no version 99/,
  },
  {
    title: 'metadata of an unknown version',
    method: 'GET',
    path: '/v2/models/iris/versions/99',
    status: 404,
    says: /model "iris" has no version 99/,
  },
  {
    title: 'version "abc"',
    path: '/v2/models/iris/versions/abc/infer',
    body: iris(),
    status: 400,
    says: /version "abc" is not a version number/,
  },
  {
    title: 'version "0"',
    path: '/v2/models/iris/versions/0/infer',
    body: iris(),
    status: 400,
    says: /version "0" is not a version number/,
  },
  {
    title: 'version "01"',
    path: '/v2/models/iris/versions/01/infer',
    body: iris(),
    status: 400,
    says: /version "01" is not a version number/,
  },
  {
    title: 'broken percent-encoding in the model name',
    path: '/v2/models/%E0%A4%A/infer',
    body: iris(),
    status: 400,
    says: /percent-encoding/,
  },
  {
    title: 'an unknown path',
    method: 'GET',
    path: '/v3/models',
    status: 404,
    says: /no route for GET \/v3\/models/,
  },
  {
    title: 'an unknown operation on a model',
    path: '/v2/models/iris/explain',
    body: iris(),
    status: 404,
    says: /no route for POST/,
  },
];

let test: TestStack;

/** Asserts the contract of every refusal: the status, a JSON `{"error"}` body naming the problem, no stack trace. */
function assertRefusal(reply: HttpReply, status: number, says: RegExp): void {
  assert.equal(reply.status, status, reply.text.slice(0, 500));
  assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
  const { error } = bodyOf(reply, ErrorBodySchema);
  assert.match(error, says);
  assert.doesNotMatch(error, /\n\s+at |\.ts:\d+|node_modules|file:\/\//, 'no stack trace or source paths');
  assert.ok(error.length < 1_000, `the message is short: ${error.length} characters`);
}

/** A valid iris request still gets the right answer. */
async function assertStillServing(): Promise<void> {
  const reply = await test.request('POST', '/models/iris/predict', { instances: [SETOSA] });
  assert.equal(reply.status, 200, reply.text);
  assert.match(reply.text, /"label":"setosa"/);
}

before(async () => {
  test = await startTestStack();
  await publishVersion(test.stack.registry, { name: 'uint8', model: identityModel('UINT8', [-1]) });
  await publishVersion(test.stack.registry, { name: 'fp32', model: identityModel('FP32', [-1]) });
  await publishVersion(test.stack.registry, { name: 'adder', model: twoInputModel() });
  // Load everything once so that the counts below start from known figures.
  await assertStillServing();
});

after(async () => {
  await test?.stop();
});

describe('Bad input over HTTP: every malformed request gets a 4xx JSON error that names the problem', () => {
  for (const { title, method = 'POST', path = IRIS_INFER, body, status, says } of CASES) {
    it(`${title} → ${status}`, async () => {
      const reply = await test.request(method, path, body);
      assertRefusal(reply, status, says);
      await assertStillServing();
    });
  }

  it('a body over 6 MB → 413 before it is parsed', async () => {
    const padding = ' '.repeat(MAX_REQUEST_BYTES);
    const reply = await test.request('POST', IRIS_INFER, `${JSON.stringify(iris())}${padding}`);
    assertRefusal(reply, 413, new RegExp(`request body is larger than ${MAX_REQUEST_BYTES} bytes`));
    await assertStillServing();
  });

  it('a body just under 6 MB is read and answered', async () => {
    const text = JSON.stringify(iris());
    const reply = await test.request(
      'POST',
      IRIS_INFER,
      `${text}${' '.repeat(MAX_REQUEST_BYTES - text.length - 1)}`,
    );
    assert.equal(reply.status, 200, reply.text.slice(0, 300));
  });

  it('a wrong method → 405 with an allow header', async () => {
    const infer = await test.request('GET', IRIS_INFER);
    assertRefusal(infer, 405, /GET is not allowed on \/v2\/models\/iris\/infer; use POST/);
    assert.equal(infer.headers.get('allow'), 'POST');
    const metadata = await test.request('DELETE', '/v2/models/iris');
    assertRefusal(metadata, 405, /DELETE is not allowed/);
    assert.equal(metadata.headers.get('allow'), 'GET');
    const health = await test.request('POST', '/v2/health/live', '{}');
    assertRefusal(health, 405, /POST is not allowed/);
    assert.equal(health.headers.get('allow'), 'GET');
    await assertStillServing();
  });

  it('no "__proto__" key reached Object.prototype', () => {
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('Bad input over HTTP: refusals are counted as rejected inputs, and the server keeps serving', () => {
  it('counts each refused request against the model version it named, and none as an error', async () => {
    const metrics = await readMetrics(test);
    for (const model of ['iris', 'uint8', 'fp32', 'adder'] as const) {
      const expected = CASES.filter((entry) => entry.counts === model).length;
      assert.equal(
        metrics.get(sample('sluice_rejected_inputs_total', model, 1)),
        expected,
        `rejected inputs of ${model}`,
      );
      assert.equal(metrics.get(sample('sluice_errors_total', model, 1)), 0, `errors of ${model}`);
    }
  });

  it('still answers a valid request correctly', async () => {
    await assertStillServing();
    const reply = await test.request('POST', '/v2/models/uint8/infer', single('UINT8', '[255]'));
    assert.equal(reply.status, 200, reply.text);
    assert.match(reply.text, /"data":\[255\]/);
  });
});
