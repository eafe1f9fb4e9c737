import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildProxyEvent } from '../../lib/core/contract/proxy-event.js';
import { alignedBodyBuffer, decodeBinaryTensor } from '../../lib/core/tensor/binary-tensor.js';
import type { TensorSpec } from '../../lib/core/tensor/TensorSpec.js';
import { readInferBody } from '../../lib/serving/infer-body.js';

const FP64: TensorSpec = { name: 'x', datatype: 'FP64', shape: [-1] };
/** FP64 values filling `Buffer.poolSize` bytes: large enough to be viewed (under half of it, a tensor is copied). */
const VALUES = Array.from(
  { length: Buffer.poolSize / 8 },
  (_, index) => [0.1, -0, Number.MAX_VALUE, 5e-324][index % 4] as number,
);

/** The FP64 values as little-endian bytes, `at` bytes into a buffer of their own. */
function bytesAt(at: number): Uint8Array {
  const bytes = new Uint8Array(new ArrayBuffer(at + VALUES.length * 8), at, VALUES.length * 8);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const [index, value] of VALUES.entries()) view.setFloat64(index * 8, value, true);
  return bytes;
}

describe('Binary tensors are viewed where they sit, not copied, when their bytes are aligned', () => {
  it('an aligned tensor is a view of the request bytes; an unaligned one a copy of its own, with the same values', () => {
    const header = { name: 'x', datatype: 'FP64', shape: [VALUES.length] };
    const aligned = bytesAt(16);
    const viewed = decodeBinaryTensor(header, aligned, FP64);
    assert.ok((viewed.data as Float64Array).buffer === aligned.buffer, 'the same memory');
    assert.equal((viewed.data as Float64Array).byteOffset, 16);
    const unaligned = bytesAt(12);
    const copied = decodeBinaryTensor(header, unaligned, FP64);
    assert.ok((copied.data as Float64Array).buffer !== unaligned.buffer, 'a copy');
    for (const tensor of [viewed, copied])
      assert.ok(
        Array.from(tensor.data as Float64Array).every((value, index) => Object.is(value, VALUES[index])),
      );
  });

  it("a small tensor is copied even when aligned: its body may be a slice of Node's shared pool", () => {
    const pooled = Buffer.concat([Buffer.alloc(8), Buffer.from(new Float64Array([0.5, -2]).buffer)]);
    assert.equal(pooled.buffer.byteLength, Buffer.poolSize, 'a slice of the pool, as a small joined body is');
    const tensor = decodeBinaryTensor({ name: 'x', datatype: 'FP64', shape: [2] }, pooled.subarray(8), FP64);
    assert.ok((tensor.data as Float64Array).buffer !== pooled.buffer, 'a copy');
    assert.deepEqual(Array.from(tensor.data as Float64Array), [0.5, -2]);
  });

  it('alignedBodyBuffer puts the byte after any header length at an 8-byte boundary of memory of its own', () => {
    for (let header = 0; header < 24; header++) {
      const body = alignedBodyBuffer(100, header);
      assert.equal(body.byteLength, 100);
      assert.equal((body.byteOffset + header) % 8, 0, `header of ${header} bytes`);
      assert.ok(body.buffer.byteLength < 108, 'not a slice of a shared pool');
    }
  });

  it('a base64 body (what API Gateway sends) is decoded with its binary data aligned, whatever its header length', () => {
    for (const padding of ['', ' ', '  ', '   ']) {
      const json = Buffer.from(
        `{"inputs":[{"name":"x","datatype":"FP64","shape":[${VALUES.length}],"parameters":{"binary_data_size":${VALUES.length * 8}}}]}${padding}`,
      );
      const data = bytesAt(0);
      const event = buildProxyEvent({
        method: 'POST',
        path: '/v2/models/m/infer',
        headers: { 'inference-header-content-length': String(json.byteLength) },
        body: Buffer.concat([json, data]).toString('base64'),
        isBase64Encoded: true,
        requestId: 'views',
        requestTimeEpoch: 0,
      });
      const body = readInferBody(event);
      assert.equal(body.kind, 'request');
      if (body.kind !== 'request') continue;
      assert.equal(body.binary.byteOffset % 8, 0, `a header of ${json.byteLength} bytes`);
      assert.ok(Buffer.from(body.binary).equals(Buffer.from(data)));
      const tensor = decodeBinaryTensor(body.request.inputs[0] as never, body.binary, FP64);
      assert.ok((tensor.data as Float64Array).buffer === body.binary.buffer, 'viewed, not copied');
    }
  });

  it('base64 that is not quite well formed (line breaks, no padding) decodes as Buffer.from would', () => {
    const bytes = Buffer.from(Array.from({ length: 100 }, (_, index) => (index * 37) & 255));
    const base64 = bytes.toString('base64');
    for (const text of [base64.replace(/=+$/, ''), base64.replace(/(.{20})/g, '$1\r\n'), ` ${base64} `]) {
      const event = buildProxyEvent({
        method: 'POST',
        path: '/v2/models/m/infer',
        headers: { 'inference-header-content-length': '0' },
        body: text,
        isBase64Encoded: true,
        requestId: 'views',
        requestTimeEpoch: 0,
      });
      const body = readInferBody(event);
      assert.equal(body.kind, 'raw');
      if (body.kind === 'raw') assert.deepEqual(Buffer.from(body.bytes), Buffer.from(text, 'base64'));
    }
  });
});
