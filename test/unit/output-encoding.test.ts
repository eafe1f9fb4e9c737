import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { encodeBinaryTensor } from '../../lib/core/tensor/binary-tensor.js';
import { encodeTensorJson } from '../../lib/core/tensor/encode-tensor.js';
import { toFloat16Bits } from '../../lib/core/tensor/float16.js';

/** The data text of an encoded tensor. */
function dataOf(tensor: ort.Tensor): string {
  const text = encodeTensorJson('y', tensor);
  return text.slice(text.indexOf('"data":') + 7, -1);
}

describe('encodeTensorJson: the same text as JSON.stringify(Array.from(x)), whatever arrays it reuses', () => {
  it('floats: ordinary, tiny, huge, -0, NaN and ±Infinity (as null)', () => {
    const values = new Float32Array([
      0.1,
      -0,
      1e-45,
      3.4028234663852886e38,
      Number.NaN,
      -Infinity,
      2.5,
      1 / 3,
    ]);
    assert.equal(
      dataOf(new ort.Tensor('float32', values, [values.length])),
      JSON.stringify(Array.from(values)),
    );
    const doubles = new Float64Array([0.1, 5e-324, Number.MAX_VALUE, Number.POSITIVE_INFINITY, -0]);
    assert.equal(
      dataOf(new ort.Tensor('float64', doubles, [doubles.length])),
      JSON.stringify(Array.from(doubles)),
    );
  });

  it('reuses arrays by length without leaking values between tensors of other lengths or kinds', () => {
    const long = new Float32Array(1000).map((_, index) => index + 0.5);
    const short = new Float32Array([7, 8, 9]);
    const ints = new Int32Array([1, -2, 2147483647]);
    const bools = new Uint8Array([1, 0, 1]);
    for (let round = 0; round < 3; round++) {
      assert.equal(dataOf(new ort.Tensor('float32', long, [1000])), JSON.stringify(Array.from(long)));
      assert.equal(dataOf(new ort.Tensor('float32', short, [3])), '[7,8,9]');
      assert.equal(dataOf(new ort.Tensor('int32', ints, [3])), '[1,-2,2147483647]');
      assert.equal(dataOf(new ort.Tensor('bool', bools, [3])), '[true,false,true]');
      assert.equal(
        dataOf(new ort.Tensor('uint32', new Uint32Array([4294967295, 0, 1]), [3])),
        '[4294967295,0,1]',
      );
    }
  });

  it('64-bit integers: exact literals beyond 2^53, numbers within', () => {
    const safe = new BigInt64Array([1n, -9007199254740991n, 0n]);
    assert.equal(dataOf(new ort.Tensor('int64', safe, [3])), '[1,-9007199254740991,0]');
    const big = new BigUint64Array([1n, 18446744073709551615n, 9007199254740993n]);
    assert.equal(dataOf(new ort.Tensor('uint64', big, [3])), '[1,18446744073709551615,9007199254740993]');
  });

  it('FP16: the numbers the halves denote', () => {
    const bits = Uint16Array.from([1, 0.5, -2, 65504], toFloat16Bits);
    assert.equal(dataOf(new ort.Tensor('float16', bits, [4])), '[1,0.5,-2,65504]');
  });
});

describe('encodeBinaryTensor: little-endian bytes, BOOL as 0/1, BYTES length-prefixed', () => {
  it('numeric data is a view of the tensor buffer, BYTES carry a 4-byte length before each element', () => {
    const floats = new Float32Array([1, -2]);
    const bytes = encodeBinaryTensor(new ort.Tensor('float32', floats, [2]));
    assert.equal(bytes.buffer, floats.buffer);
    assert.deepEqual([...bytes], [0, 0, 128, 63, 0, 0, 0, 192]);
    const strings = encodeBinaryTensor(new ort.Tensor('string', ['ab', '', 'é'], [3]));
    assert.deepEqual([...strings], [2, 0, 0, 0, 97, 98, 0, 0, 0, 0, 2, 0, 0, 0, 0xc3, 0xa9]);
  });
});
