import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as z from 'zod';
import { BINARY_CONTENT_TYPE } from '../../lib/core/contract/binary-media-types.js';
import { INFERENCE_HEADER_CONTENT_LENGTH } from '../../lib/core/contract/headers.js';
import { MAX_RESPONSE_BYTES } from '../../lib/core/contract/limits.js';
import { buildProxyEvent } from '../../lib/core/contract/proxy-event.js';
import { TENSOR_DATATYPES, type TensorDatatype } from '../../lib/core/tensor/datatypes.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { buildModel } from '../../lib/tools/model-builder.js';
import { bodyOf, ErrorBodySchema, startTestStack, type TestStack } from '../fixtures/local-stack.js';
import { identityModel, twoInputModel } from '../fixtures/models.js';

/**
 * A client of the binary tensor extension written from the protocol text (Triton's and KServe's), not from
 * sluice's code: little-endian, row-major, BOOL one byte, BYTES a 4-byte little-endian length before each element.
 */
function bytesOf(datatype: TensorDatatype, values: readonly unknown[]): Buffer {
  const le = (size: number, write: (view: DataView, offset: number, value: never) => void): Buffer => {
    const buffer = Buffer.alloc(values.length * size);
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    for (const [index, value] of values.entries()) write(view, index * size, value as never);
    return buffer;
  };
  switch (datatype) {
    case 'BOOL':
      return Buffer.from(values.map((value) => (value ? 1 : 0)));
    case 'UINT8':
      return le(1, (view, offset, value: number) => view.setUint8(offset, value));
    case 'INT8':
      return le(1, (view, offset, value: number) => view.setInt8(offset, value));
    case 'UINT16':
      return le(2, (view, offset, value: number) => view.setUint16(offset, value, true));
    case 'INT16':
      return le(2, (view, offset, value: number) => view.setInt16(offset, value, true));
    case 'FP16': // values are bit patterns
      return le(2, (view, offset, value: number) => view.setUint16(offset, value, true));
    case 'UINT32':
      return le(4, (view, offset, value: number) => view.setUint32(offset, value, true));
    case 'INT32':
      return le(4, (view, offset, value: number) => view.setInt32(offset, value, true));
    case 'FP32':
      return le(4, (view, offset, value: number) => view.setFloat32(offset, value, true));
    case 'UINT64':
      return le(8, (view, offset, value: bigint) => view.setBigUint64(offset, value, true));
    case 'INT64':
      return le(8, (view, offset, value: bigint) => view.setBigInt64(offset, value, true));
    case 'FP64':
      return le(8, (view, offset, value: number) => view.setFloat64(offset, value, true));
    case 'BYTES':
      return Buffer.concat(
        values.map((value) => {
          const text = Buffer.from(value as string, 'utf8');
          const prefix = Buffer.alloc(4);
          prefix.writeUInt32LE(text.byteLength);
          return Buffer.concat([prefix, text]);
        }),
      );
  }
}

const SAMPLES: Record<TensorDatatype, readonly unknown[]> = {
  BOOL: [true, false, false, true],
  UINT8: [0, 1, 128, 255],
  UINT16: [0, 65535],
  UINT32: [0, 2147483648, 4294967295],
  UINT64: [0n, 9007199254740993n, 18446744073709551615n],
  INT8: [-128, -1, 0, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 0, 2147483647],
  INT64: [9223372036854775807n, -9223372036854775808n, 9007199254740993n, 0n],
  FP16: [0x3c00, 0x7bff, 0x0001, 0x8000, 0x7c00], // 1, 65504, smallest subnormal, -0, +Infinity
  FP32: [0.1, -0, 3.4028234663852886e38, 1.401298464324817e-45, Number.POSITIVE_INFINITY],
  FP64: [0.1, -0, Number.MAX_VALUE, 5e-324, Number.NEGATIVE_INFINITY],
  BYTES: ['hello', '', 'ünïcödé 日本語 🚀', 'line\nbreak "quoted"'],
};

/** A request of the binary extension: the JSON header, then the binary data, with the header length set. */
function binaryRequest(
  header: object,
  ...chunks: Buffer[]
): { body: Buffer; headers: Record<string, string> } {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  return {
    body: Buffer.concat([json, ...chunks]),
    headers: {
      [INFERENCE_HEADER_CONTENT_LENGTH]: String(json.byteLength),
      'content-type': BINARY_CONTENT_TYPE,
    },
  };
}

interface BinaryReply {
  readonly status: number;
  readonly headers: Headers;
  readonly bytes: Buffer;
}

async function post(path: string, request: { body: Buffer | string; headers: Record<string, string> }) {
  const response = await fetch(`${test.url}${path}`, {
    method: 'POST',
    body: request.body,
    headers: request.headers,
  });
  return {
    status: response.status,
    headers: response.headers,
    bytes: Buffer.from(await response.arrayBuffer()),
  } satisfies BinaryReply;
}

const ResponseHeaderSchema = z.object({
  model_name: z.string(),
  model_version: z.string(),
  id: z.string().optional(),
  outputs: z.array(
    z.object({
      name: z.string(),
      datatype: z.string(),
      shape: z.array(z.number()),
      data: z.array(z.unknown()).optional(),
      parameters: z.object({ binary_data_size: z.number() }).optional(),
    }),
  ),
});

/** Splits a binary response into its JSON header and its binary data, by the response's header length. */
function splitReply(reply: BinaryReply): { header: z.infer<typeof ResponseHeaderSchema>; binary: Buffer } {
  assert.equal(reply.status, 200, reply.bytes.toString('utf8').slice(0, 300));
  const length = Number(reply.headers.get(INFERENCE_HEADER_CONTENT_LENGTH));
  assert.ok(Number.isInteger(length) && length > 0, 'the response sets Inference-Header-Content-Length');
  assert.equal(reply.headers.get('content-type'), BINARY_CONTENT_TYPE);
  const header = ResponseHeaderSchema.parse(JSON.parse(reply.bytes.toString('utf8', 0, length)));
  return { header, binary: reply.bytes.subarray(length) };
}

function errorOf(reply: BinaryReply): string {
  return bodyOf({ status: reply.status, text: reply.bytes.toString('utf8') }, ErrorBodySchema).error;
}

let test: TestStack;
const modelName = (datatype: TensorDatatype): string => `bin-${datatype.toLowerCase()}`;

before(async () => {
  test = await startTestStack({ publishSamples: false });
  for (const datatype of TENSOR_DATATYPES) {
    await publishVersion(test.stack.registry, {
      name: modelName(datatype),
      model: identityModel(datatype, [-1]),
    });
  }
  await publishVersion(test.stack.registry, { name: 'bin-two', model: twoInputModel() });
  await publishVersion(test.stack.registry, {
    name: 'bin-image',
    model: identityModel('FP32', [1, 3, 4, 4]),
  });
});

after(async () => {
  await test?.stop();
});

describe('Binary tensor extension: every datatype round-trips bit for bit', () => {
  for (const datatype of TENSOR_DATATYPES) {
    it(`${datatype}: binary input, binary output (binary_data on the output)`, async () => {
      const values = SAMPLES[datatype];
      const data = bytesOf(datatype, values);
      const reply = await post(
        `/v2/models/${modelName(datatype)}/infer`,
        binaryRequest(
          {
            id: 'b1',
            inputs: [
              {
                name: 'x',
                datatype,
                shape: [values.length],
                parameters: { binary_data_size: data.byteLength },
              },
            ],
            outputs: [{ name: 'y', parameters: { binary_data: true } }],
          },
          data,
        ),
      );
      const { header, binary } = splitReply(reply);
      assert.equal(header.id, 'b1');
      assert.deepEqual(header.outputs, [
        {
          name: 'y',
          datatype,
          shape: [values.length],
          parameters: { binary_data_size: data.byteLength },
        },
      ]);
      assert.ok(binary.equals(data), `${datatype}: the bytes came back unchanged`);
    });
  }

  it('JSON input, all outputs binary with binary_data_output', async () => {
    const reply = await post('/v2/models/bin-int32/infer', {
      body: JSON.stringify({
        parameters: { binary_data_output: true },
        inputs: [{ name: 'x', datatype: 'INT32', shape: [3], data: [-2147483648, 0, 2147483647] }],
      }),
      headers: { 'content-type': 'application/json' },
    });
    const { binary } = splitReply(reply);
    assert.ok(binary.equals(bytesOf('INT32', [-2147483648, 0, 2147483647])));
  });

  it('binary input, JSON output when no output asks for binary', async () => {
    const data = bytesOf('FP32', [0.5, -2]);
    const reply = await post(
      '/v2/models/bin-fp32/infer',
      binaryRequest(
        { inputs: [{ name: 'x', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } }] },
        data,
      ),
    );
    assert.equal(reply.status, 200, reply.bytes.toString());
    assert.match(reply.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(reply.headers.get(INFERENCE_HEADER_CONTENT_LENGTH), null);
    assert.match(reply.bytes.toString(), /"name":"y","datatype":"FP32","shape":\[2\],"data":\[0\.5,-2\]/);
  });

  it('mixes binary and JSON inputs in one request, in the order of the JSON', async () => {
    const b = bytesOf('FP32', [10, 20, 30]);
    const reply = await post(
      '/v2/models/bin-two/infer',
      binaryRequest(
        {
          inputs: [
            { name: 'a', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] },
            { name: 'b', datatype: 'FP32', shape: [1, 3], parameters: { binary_data_size: b.byteLength } },
          ],
          parameters: { binary_data_output: true },
        },
        b,
      ),
    );
    const { binary } = splitReply(reply);
    assert.ok(binary.equals(bytesOf('FP32', [11, 22, 33])));
  });

  it('takes a raw binary body as the only input of a single-input model, its shape from the manifest', async () => {
    const values = Array.from({ length: 48 }, (_, index) => index / 8);
    const reply = await post('/v2/models/bin-image/infer', {
      body: bytesOf('FP32', values),
      headers: { 'content-type': BINARY_CONTENT_TYPE },
    });
    assert.equal(reply.status, 200, reply.bytes.toString());
    assert.ok(reply.bytes.toString().includes(`"shape":[1,3,4,4],"data":[${values.join(',')}]`));
    // With the header at 0, as Triton's raw binary request has it; the one dynamic dimension comes from the size.
    const raw = await post('/v2/models/bin-fp32/infer', {
      body: bytesOf('FP32', [1, 2, 3]),
      headers: { [INFERENCE_HEADER_CONTENT_LENGTH]: '0' },
    });
    assert.equal(raw.status, 200, raw.bytes.toString());
    assert.match(raw.bytes.toString(), /"shape":\[3\],"data":\[1,2,3\]/);
  });

  it('answers a Lambda proxy event with a base64 body (API Gateway binary media types) in base64', async () => {
    const data = bytesOf('UINT8', [1, 2, 3]);
    const { body, headers } = binaryRequest(
      {
        inputs: [{ name: 'x', datatype: 'UINT8', shape: [3], parameters: { binary_data_size: 3 } }],
        outputs: [{ name: 'y', parameters: { binary_data: true } }],
      },
      data,
    );
    const event = buildProxyEvent({
      method: 'POST',
      path: '/v2/models/bin-uint8/infer',
      headers: { 'Inference-Header-Content-Length': headers[INFERENCE_HEADER_CONTENT_LENGTH] },
      body: body.toString('base64'),
      isBase64Encoded: true,
      requestId: 'binary-event',
      requestTimeEpoch: Date.now(),
    });
    const result = await test.stack.app.handle(event);
    assert.equal(result.statusCode, 200, result.body);
    assert.equal(result.isBase64Encoded, true);
    const bytes = Buffer.from(result.body, 'base64');
    const length = Number(result.headers?.[INFERENCE_HEADER_CONTENT_LENGTH]);
    assert.ok(bytes.subarray(length).equals(data));
  });
});

describe('Binary tensor extension: bad sizes and headers are a 400 naming the problem, and nothing breaks', () => {
  const x = (size: number) => ({
    inputs: [{ name: 'x', datatype: 'FP32', shape: [2], parameters: { binary_data_size: size } }],
  });
  const cases: {
    what: string;
    request: () => { body: Buffer; headers: Record<string, string> };
    error: RegExp;
  }[] = [
    {
      what: 'binary_data_size larger than the data',
      request: () => binaryRequest(x(8), Buffer.alloc(4)),
      error: /binary_data_size is 8, but only 4 bytes/,
    },
    {
      what: 'data left over after the inputs',
      request: () => binaryRequest(x(8), Buffer.alloc(12)),
      error: /12 bytes of binary data .* add up to 8/,
    },
    {
      what: 'a size that does not fit the shape',
      request: () => binaryRequest(x(4), Buffer.alloc(4)),
      error: /binary data is 4 bytes; shape \[2\] of FP32 needs 8/,
    },
    {
      what: 'a header length past the end of the body',
      request: () => ({
        body: Buffer.from('{"inputs":[]}'),
        headers: { [INFERENCE_HEADER_CONTENT_LENGTH]: '500' },
      }),
      error: /is 500, but the body has only 13 bytes/,
    },
    {
      what: 'a header length that is not a number',
      request: () => ({ body: Buffer.from('{}'), headers: { [INFERENCE_HEADER_CONTENT_LENGTH]: 'abc' } }),
      error: /expected the byte length of the JSON header/,
    },
    {
      what: 'a header length that cuts the JSON short',
      request: () => ({
        body: Buffer.concat([Buffer.from(JSON.stringify(x(8))), Buffer.alloc(8)]),
        headers: { [INFERENCE_HEADER_CONTENT_LENGTH]: '20' },
      }),
      error: /malformed JSON/,
    },
    {
      what: 'both data and binary_data_size',
      request: () =>
        binaryRequest(
          {
            inputs: [
              { name: 'x', datatype: 'FP32', shape: [2], data: [1, 2], parameters: { binary_data_size: 8 } },
            ],
          },
          Buffer.alloc(8),
        ),
      error: /both "data" and parameters.binary_data_size/,
    },
    {
      what: 'a negative binary_data_size',
      request: () => binaryRequest(x(-8), Buffer.alloc(8)),
      error: /binary_data_size/,
    },
    {
      what: 'a raw body that is not a whole number of elements',
      request: () => ({ body: Buffer.alloc(7), headers: { 'content-type': BINARY_CONTENT_TYPE } }),
      error: /not a whole number of rows/,
    },
  ];
  for (const { what, request, error } of cases) {
    it(what, async () => {
      const reply = await post('/v2/models/bin-fp32/infer', request());
      assert.equal(reply.status, 400, reply.bytes.toString());
      assert.match(errorOf(reply), error);
    });
  }

  it('BOOL bytes other than 0 and 1, BYTES lengths that overrun, invalid UTF-8 and NUL are refused', async () => {
    const boolReply = await post(
      '/v2/models/bin-bool/infer',
      binaryRequest(
        { inputs: [{ name: 'x', datatype: 'BOOL', shape: [2], parameters: { binary_data_size: 2 } }] },
        Buffer.from([1, 2]),
      ),
    );
    assert.equal(boolReply.status, 400);
    assert.match(errorOf(boolReply), /BOOL bytes are 0 or 1/);
    const bytesCases: [Buffer, RegExp][] = [
      [Buffer.from([9, 0, 0, 0, 0x61]), /says 9 bytes, only 1 remain/],
      [Buffer.from([2, 0, 0, 0, 0xc3, 0x28]), /not valid UTF-8/],
      [Buffer.from([3, 0, 0, 0, 0x61, 0, 0x62]), /U\+0000/],
      [Buffer.from([1, 0, 0]), /length prefix is incomplete/],
    ];
    for (const [data, error] of bytesCases) {
      const reply = await post(
        '/v2/models/bin-bytes/infer',
        binaryRequest(
          {
            inputs: [
              { name: 'x', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: data.byteLength } },
            ],
          },
          data,
        ),
      );
      assert.equal(reply.status, 400, reply.bytes.toString());
      assert.match(errorOf(reply), error);
    }
  });

  it('a raw body for a model with two inputs says to send a JSON header', async () => {
    const reply = await post('/v2/models/bin-two/infer', {
      body: Buffer.alloc(24),
      headers: { 'content-type': BINARY_CONTENT_TYPE },
    });
    assert.equal(reply.status, 400);
    assert.match(errorOf(reply), /raw binary body works for single-input models/);
  });

  it('a binary body sent to the simple form says where binary tensors go', async () => {
    const reply = await post('/models/bin-fp32/predict', binaryRequest(x(8), Buffer.alloc(8)));
    assert.equal(reply.status, 400);
    assert.match(
      errorOf(reply),
      /the simple form takes JSON only; send binary tensors .* to POST \/v2\/models\/bin-fp32\/infer/,
    );
  });

  it('still serves after all of the above', async () => {
    const reply = await test.request('POST', '/v2/models/bin-fp32/infer', {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1.5] }],
    });
    assert.equal(reply.status, 200, reply.text);
  });
});

describe('Responses over the size limit are refused before they are written', () => {
  it('an output of more than the limit answers 400 naming the size and the way round it', async () => {
    // Tile repeats a 4-value input 2M times: 8M floats, far past 6 MB however it is encoded.
    const repeats = 2 * 1024 * 1024;
    await publishVersion(test.stack.registry, {
      name: 'huge-output',
      model: buildModel({
        inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
        outputs: [{ name: 'y', datatype: 'FP32', shape: [4 * repeats] }],
        initializers: [{ name: 'repeats', dims: [1], data: new BigInt64Array([BigInt(repeats)]) }],
        nodes: [{ opType: 'Tile', inputs: ['x', 'repeats'], outputs: ['y'] }],
      }),
    });
    for (const parameters of [{}, { binary_data_output: true }]) {
      const reply = await test.request('POST', '/v2/models/huge-output/infer', {
        parameters,
        inputs: [{ name: 'x', datatype: 'FP32', shape: [4], data: [1, 2, 3, 4] }],
      });
      assert.equal(reply.status, 400, reply.text.slice(0, 300));
      const { error } = bodyOf(reply, ErrorBodySchema);
      assert.match(
        error,
        new RegExp(`the response would be at least \\d+ bytes .* over the ${MAX_RESPONSE_BYTES} bytes`),
      );
      assert.match(error, /binary outputs|fewer outputs/);
    }
    const simple = await test.request('POST', '/models/huge-output/predict', { inputs: { x: [1, 2, 3, 4] } });
    assert.equal(simple.status, 400, simple.text.slice(0, 300));
    assert.match(bodyOf(simple, ErrorBodySchema).error, /the response would be at least/);
  });
});
