import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAX_REQUEST_BYTES } from '../../lib/core/contract/limits.js';
import { LocalStack } from '../../lib/local/LocalStack.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import type { AppLogger } from '../../lib/serving/InferenceApp.js';
import { buildModel } from '../../lib/tools/model-builder.js';
import { bodyOf, ErrorBodySchema, type HttpReply, httpRequest } from '../fixtures/local-stack.js';
import { identityModel, runtimeFailureModel, twoInputModel } from '../fixtures/models.js';

/** Every line the stack logs, with its level, so tests can read what an operator would see. */
const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
const capture =
  (level: string) =>
  (message: string, ...rest: unknown[]): void => {
    lines.push({ level, message, fields: Object.assign({}, ...(rest as object[])) });
  };
const logger = {
  debug: capture('debug'),
  info: capture('info'),
  warn: capture('warn'),
  error: capture('error'),
} as unknown as AppLogger;

let stack: LocalStack;
let home: string;
const request = (method: string, path: string, body?: string | object): Promise<HttpReply> =>
  httpRequest(stack.apiUrl, method, path, body);

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'sluice-defects-'));
  stack = await LocalStack.start({ home, port: 0, publishSamples: false, logger, logRequests: true });
  await publishVersion(stack.registry, { name: 'failing', model: runtimeFailureModel() });
  await publishVersion(stack.registry, { name: 'bytes', model: identityModel('BYTES', [-1]) });
  await publishVersion(stack.registry, { name: 'two', model: twoInputModel() });
  for (const name of ['__proto__', 'constructor']) {
    await publishVersion(stack.registry, {
      name: name === '__proto__' ? 'proto-input' : 'constructor-input',
      model: buildModel({
        inputs: [{ name, datatype: 'FP32', shape: [-1, 2] }],
        outputs: [{ name: 'toString', datatype: 'FP32', shape: [-1, 2] }],
        nodes: [{ opType: 'Identity', inputs: [name], outputs: ['toString'] }],
      }),
    });
  }
  // A non-batch output whose fixed first dimension (3) can equal the number of rows.
  await publishVersion(stack.registry, {
    name: 'fixed-output',
    model: buildModel({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
      outputs: [
        { name: 'y', datatype: 'FP32', shape: [-1, 2] },
        { name: 'table', datatype: 'FP32', shape: [3, 2] },
      ],
      initializers: [{ name: 'constant', dims: [3, 2], data: new Float32Array([1, 2, 3, 4, 5, 6]) }],
      nodes: [
        { opType: 'Identity', inputs: ['x'], outputs: ['y'] },
        { opType: 'Identity', inputs: ['constant'], outputs: ['table'] },
      ],
    }),
  });
});

after(async () => {
  await stack?.stop();
  await rm(home, { recursive: true, force: true });
});

describe('BYTES that onnxruntime would alter are refused with a 400 saying why, not answered altered', () => {
  for (const [what, value, reason] of [
    ['a NUL inside', 'a\u0000b', /U\+0000/],
    ['only a NUL', '\u0000', /U\+0000/],
    ['a trailing NUL', 'tail\u0000', /U\+0000/],
    ['a lone high surrogate', 'x\ud800', /lone UTF-16 surrogate/],
    ['a lone low surrogate', '\udc00y', /lone UTF-16 surrogate/],
  ] as const) {
    it(`${what}: V2 and the simple form`, async () => {
      const v2 = await request('POST', '/v2/models/bytes/infer', {
        inputs: [{ name: 'x', datatype: 'BYTES', shape: [2], data: ['fine', value] }],
      });
      assert.equal(v2.status, 400, v2.text);
      assert.match(bodyOf(v2, ErrorBodySchema).error, /input "x": data\[1\] is .*/);
      assert.match(bodyOf(v2, ErrorBodySchema).error, reason);
      const simple = await request('POST', '/models/bytes/predict', { instances: [value] });
      assert.equal(simple.status, 400, simple.text);
    });
  }

  it('text with control characters, quotes and astral characters still round-trips exactly', async () => {
    const values = ['\u0001\t\n', '"\\', '🚀 日本語', ''];
    const reply = await request('POST', '/v2/models/bytes/infer', {
      inputs: [{ name: 'x', datatype: 'BYTES', shape: [4], data: values }],
    });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(JSON.parse(reply.text).outputs[0].data, values);
  });
});

describe('Inputs and outputs named like Object.prototype members are served', () => {
  for (const [model, input] of [
    ['proto-input', '__proto__'],
    ['constructor-input', 'constructor'],
  ] as const) {
    it(`input "${input}", output "toString" (V2)`, async () => {
      const reply = await request('POST', `/v2/models/${model}/infer`, {
        inputs: [{ name: input, datatype: 'FP32', shape: [1, 2], data: [[1.5, 2.5]] }],
      });
      assert.equal(reply.status, 200, reply.text);
      assert.match(reply.text, /"name":"toString","datatype":"FP32","shape":\[1,2\],"data":\[1\.5,2\.5\]/);
    });
  }

  it('input "constructor" through the simple form', async () => {
    const reply = await request('POST', '/models/constructor-input/predict', {
      inputs: { constructor: [[1, 2]] },
    });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(JSON.parse(reply.text).predictions, [[1, 2]]);
  });
});

describe('Simple form: an input named twice is a 400', () => {
  it('refuses duplicate keys in "inputs" instead of keeping the last', async () => {
    const reply = await request(
      'POST',
      '/models/two/predict',
      '{"inputs": {"a": [[1, 2, 3]], "b": [[4, 5, 6]], "a": [[7, 8, 9]]}}',
    );
    assert.equal(reply.status, 400, reply.text);
    assert.match(bodyOf(reply, ErrorBodySchema).error, /key "a" appears more than once/);
    const fine = await request(
      'POST',
      '/models/two/predict',
      '{"inputs": {"a": [[1, 2, 3]], "b": [[4, 5, 6]]}}',
    );
    assert.equal(fine.status, 200, fine.text);
  });
});

describe('Simple form: only outputs with the batch dimension are split per row', () => {
  it('returns a fixed [3, 2] output whole when the request happens to have 3 rows', async () => {
    const reply = await request('POST', '/models/fixed-output/predict', {
      instances: [
        [1, 1],
        [2, 2],
        [3, 3],
      ],
    });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(JSON.parse(reply.text).predictions, {
      y: [
        [1, 1],
        [2, 2],
        [3, 3],
      ],
      table: [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
    });
  });
});

describe('Logs: what an operator needs, without payloads', () => {
  it("a model failure's log line keeps onnxruntime's message; the response does not", async () => {
    lines.length = 0;
    const reply = await request('POST', '/v2/models/failing/infer', {
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [[1, 2, 3, 4]] }],
    });
    assert.equal(reply.status, 500);
    const failure = lines.find((line) => line.message === 'request failed');
    assert.ok(failure, 'the failure is logged');
    const reason = String(failure.fields.reason);
    assert.match(reason, /model "failing" version 1 failed to run on this input: .*Reshape|reshape|shape/i);
    assert.doesNotMatch(bodyOf(reply, ErrorBodySchema).error, /Reshape|reshape/);
  });

  it('a body over the limit (413, refused by the emulator) is logged', async () => {
    lines.length = 0;
    const reply = await request('POST', '/v2/models/failing/infer', 'x'.repeat(MAX_REQUEST_BYTES + 1));
    assert.equal(reply.status, 413);
    const refused = lines.find((line) => line.message === 'request refused');
    assert.ok(refused, 'the 413 is logged');
    assert.equal(refused.fields.status, 413);
    assert.equal(refused.fields.path, '/v2/models/failing/infer');
  });
});
