import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { encodeBinaryTensor } from '../../lib/core/tensor/binary-tensor.js';
import { encodeTensorJson, tensorToNested } from '../../lib/core/tensor/encode-tensor.js';
import { fromFloat16Bits, toFloat16Bits } from '../../lib/core/tensor/float16.js';
import { encodeFloat16Json, encodeFloat32Json, float32Text } from '../../lib/core/tensor/float32-text.js';
import { seededRandom } from '../../lib/tools/seeded-random.js';

/** The data text of an encoded tensor. */
function dataOf(tensor: ort.Tensor): string {
  const text = encodeTensorJson('y', tensor);
  return text.slice(text.indexOf('"data":') + 7, -1);
}

/**
 * The expected text of one value, found independently of the encoder: for 1, 2, .. significant digits, the
 * nearest decimal of that length (V8's exact toPrecision) and its neighbour on the value's other side (the
 * round-trip interval is lopsided at powers of two); the first length where one reads back gives the closer that
 * does, and of an exact tie the even one (the ECMAScript Number::toString rule), in JS notation (String(Number())
 * writes a decimal of at most 15 digits as itself). NaN and ±Infinity are `null`, -0 is `-0`.
 */
function expectedText(value: number, readsBack: (text: string) => boolean): string {
  if (!Number.isFinite(value)) return 'null';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const sign = value < 0 ? '-' : '';
  const magnitude = Math.abs(value);
  for (let digits = 1; digits <= 17; digits++) {
    const nearest = magnitude.toPrecision(digits);
    const other = stepLastDigit(nearest, Number(nearest) > magnitude ? -1n : 1n);
    const nearestReads = readsBack(nearest);
    const otherReads = readsBack(other);
    if (nearestReads && otherReads && isTie(magnitude, digits)) {
      return sign + String(Number(lastDigitOf(nearest) % 2 === 0 ? nearest : other));
    }
    if (nearestReads) return sign + String(Number(nearest));
    if (otherReads) return sign + String(Number(other));
  }
  throw new Error(`no decimal of 17 digits reads back as ${value}`);
}

/**
 * Whether a value lies exactly halfway between two decimals of `digits` digits: its exact expansion has one
 * digit more, a 5.
 */
function isTie(magnitude: number, digits: number): boolean {
  const exact = (magnitude.toPrecision(100).split('e')[0] ?? '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return exact.length === digits + 1 && exact.endsWith('5');
}

function lastDigitOf(text: string): number {
  const mantissa = text.split('e')[0] ?? '';
  return Number(mantissa[mantissa.length - 1]);
}

/** A toPrecision text moved by one unit in its last digit, as `digits` e `exponent`. */
function stepLastDigit(text: string, step: bigint): string {
  const [mantissa = '', exponent = '0'] = text.split('e');
  const decimals = (mantissa.split('.')[1] ?? '').length;
  return `${BigInt(mantissa.replace('.', '')) + step}e${Number(exponent) - decimals}`;
}

/** The expected text of a float32 value. */
function expectedFloat32(value: number): string {
  const magnitude = Math.abs(value);
  return expectedText(value, (text) => Math.fround(Number(text)) === magnitude);
}

/** The float32 values of these bit patterns. */
function floatsOf(words: Uint32Array): Float32Array {
  return new Float32Array(words.buffer, words.byteOffset, words.length);
}

/** Asserts that a float32 array's JSON reads back bit for bit (NaN and ±Infinity as null) and returns the texts. */
function assertReadsBack(values: Float32Array): string[] {
  const text = encodeFloat32Json(values);
  const parsed = JSON.parse(text) as (number | null)[];
  assert.equal(parsed.length, values.length);
  const back = new Float32Array(parsed.length);
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const backWords = new Uint32Array(back.buffer);
  for (let index = 0; index < parsed.length; index++) {
    const read = parsed[index];
    const value = values[index] as number;
    if (read === null) {
      assert.ok(!Number.isFinite(value), `${value} was written as null`);
      continue;
    }
    back[index] = read;
    if (backWords[index] !== words[index]) {
      assert.fail(`float32 bits ${words[index]?.toString(16)} (${value}) read back as ${read}`);
    }
  }
  return text.slice(1, -1).split(',');
}

/**
 * Edge cases: zeros, subnormals, the normal range's ends, powers of two and ten and their neighbours, notation
 * boundaries, integers around 2^24 and past it, and all of them negated.
 */
function edgeCases(): Float32Array {
  const words: number[] = [0, 1, 2, 3, 0x7fffff, 0x7ffffe, 0x800000, 0x800001, 0x7f7fffff, 0x7f7ffffe];
  const floats = new Float32Array(1);
  const bits = new Uint32Array(floats.buffer);
  const around = (value: number, reach: number) => {
    floats[0] = value;
    const center = bits[0] as number;
    for (let offset = -reach; offset <= reach; offset++) words.push(center + offset);
  };
  for (let power = -149; power <= 127; power++) around(2 ** power, 2);
  for (let power = -45; power <= 38; power++) around(Number(`1e${power}`), 3);
  for (const boundary of [1e-7, 1e-6, 1e21, 1e22, 1e23, 16777216, 0.5, 9.5, 99.5, 999999.5])
    around(boundary, 8);
  for (let integer = 0; integer <= 2000; integer++) words.push(toBits(integer));
  for (let integer = 2 ** 24 - 50; integer <= 2 ** 24 + 50; integer++) words.push(toBits(integer));
  for (let power = 25; power <= 64; power++)
    for (const offset of [-1, 1, 3, 7]) words.push(toBits(2 ** power + offset * 2 ** (power - 24)));
  const positive = Uint32Array.from(words, (word) => word >>> 0);
  const all = new Uint32Array(positive.length * 2);
  all.set(positive);
  for (let index = 0; index < positive.length; index++)
    all[positive.length + index] = ((positive[index] as number) | 0x80000000) >>> 0;
  return floatsOf(all);
}

/** The float32 bits of a number. */
function toBits(value: number): number {
  return new Uint32Array(Float32Array.of(value).buffer)[0] as number;
}

describe('FP32 output: the shortest text that reads back as the same float32, the closest of that length', () => {
  it('writes the texts JS notation gives those decimals', () => {
    const cases: [number, string][] = [
      [0.1, '0.1'],
      [1 / 3, '0.33333334'],
      [-0, '-0'],
      [0, '0'],
      [1e-6, '0.000001'],
      [1e-7, '1e-7'],
      [1.5e-7, '1.5e-7'],
      [5e-7, '5e-7'],
      [123, '123'],
      [16777216, '16777216'],
      [16777218, '16777218'],
      [1e10, '10000000000'],
      [1e21, '1e+21'],
      [1.5e21, '1.5e+21'],
      [3.4028234663852886e38, '3.4028235e+38'],
      [2 ** -126, '1.1754944e-38'],
      [2 ** -149, '1e-45'],
      [Number.NaN, 'null'],
      [Number.POSITIVE_INFINITY, 'null'],
      [Number.NEGATIVE_INFINITY, 'null'],
      [-2.5, '-2.5'],
      [9.99999999, '10'],
    ];
    for (const [value, text] of cases) assert.equal(float32Text(value), text, `${value}`);
  });

  it('edge cases read back bit for bit and match the independent shortest-closest reference', () => {
    const values = edgeCases();
    const texts = assertReadsBack(values);
    for (let index = 0; index < values.length; index++) {
      assert.equal(
        texts[index],
        expectedFloat32(values[index] as number),
        `bits ${toBits(values[index] as number).toString(16)}`,
      );
    }
  });

  it('2M seeded random bit patterns read back bit for bit; 40k of them, and 40k uniform floats, match the reference', () => {
    const random = seededRandom(18);
    const words = Uint32Array.from({ length: 2_000_000 }, () => Math.floor(random() * 2 ** 32));
    const values = floatsOf(words);
    const texts = assertReadsBack(values);
    for (let index = 0; index < 40_000; index++) {
      assert.equal(
        texts[index],
        expectedFloat32(values[index] as number),
        `bits ${words[index]?.toString(16)}`,
      );
    }
    const uniform = Float32Array.from({ length: 40_000 }, () => random());
    const uniformTexts = assertReadsBack(uniform);
    for (let index = 0; index < uniform.length; index++) {
      assert.equal(uniformTexts[index], expectedFloat32(uniform[index] as number), `${uniform[index]}`);
    }
  });

  it('is much shorter than the float64 form JSON.stringify writes', () => {
    const random = seededRandom(5);
    const uniform = Float32Array.from({ length: 100_000 }, () => random());
    const ours = encodeFloat32Json(uniform).length / uniform.length;
    const float64 = JSON.stringify(Array.from(uniform)).length / uniform.length;
    assert.ok(ours < 12 && float64 > 18, `${ours} vs ${float64} characters per value`);
  });
});

describe('FP16 output: the shortest text that converts back to the same half', () => {
  it('every one of the 65536 bit patterns reads back and matches the reference', () => {
    const all = Uint16Array.from({ length: 0x10000 }, (_, bits) => bits);
    const text = encodeFloat16Json(all);
    const texts = text.slice(1, -1).split(',');
    const parsed = JSON.parse(text) as (number | null)[];
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = fromFloat16Bits(bits);
      const read = parsed[bits];
      if (!Number.isFinite(value)) {
        assert.equal(read, null);
        continue;
      }
      assert.equal(toFloat16Bits(read as number), bits, `half ${bits.toString(16)} read back as ${read}`);
      if (value === 0) assert.ok(Object.is(read, value), `the sign of zero ${bits.toString(16)}`);
      const magnitude = bits & 0x7fff;
      assert.equal(
        texts[bits],
        expectedText(value, (candidate) => toFloat16Bits(Number(candidate)) === magnitude),
        `half ${bits.toString(16)}`,
      );
    }
  });

  it('the longest half texts, negative, fill their buffer without loss', () => {
    const texts = encodeFloat16Json(Uint16Array.from({ length: 0x7c00 }, (_, bits) => bits))
      .slice(1, -1)
      .split(',');
    const longest = texts.reduce(
      (best, text, bits) => (text.length > (texts[best] as string).length ? bits : best),
      0,
    );
    assert.ok((texts[longest] as string).length <= 11, texts[longest]);
    const negative = new Uint16Array(10_000).fill(longest | 0x8000);
    assert.equal(
      encodeFloat16Json(negative),
      `[${Array(negative.length).fill(`-${texts[longest]}`).join(',')}]`,
    );
  });

  it('numbers of a Float16Array-like source are written as the halves they are', () => {
    const numbers = [1, 0.5, -2, 65504, 1 / 3].map((value) => fromFloat16Bits(toFloat16Bits(value)));
    assert.equal(encodeFloat16Json(numbers), '[1,0.5,-2,65500,0.3333]');
  });
});

describe('encodeTensorJson: FP32/FP16 in their own shortest form, every other datatype as JSON.stringify writes it', () => {
  it('FP32 and FP16 tensors take the shortest forms; FP64 is JSON.stringify(Array.from(x))', () => {
    const floats = new Float32Array([
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
      dataOf(new ort.Tensor('float32', floats, [floats.length])),
      '[0.1,-0,1e-45,3.4028235e+38,null,null,2.5,0.33333334]',
    );
    const bits = Uint16Array.from([1, 0.5, -2, 65504], toFloat16Bits);
    assert.equal(dataOf(new ort.Tensor('float16', bits, [4])), '[1,0.5,-2,65500]');
    const doubles = new Float64Array([0.1, 5e-324, Number.MAX_VALUE, Number.POSITIVE_INFINITY, -0]);
    assert.equal(
      dataOf(new ort.Tensor('float64', doubles, [doubles.length])),
      JSON.stringify(Array.from(doubles)),
    );
  });

  it('tensorToNested (the simple form, in-process golden checks) gives FP32 and FP16 as the numbers those texts denote', () => {
    const floats = new Float32Array([0.1, 1 / 3, Number.NaN, 2.5, 1e-45]);
    assert.deepEqual(tensorToNested(new ort.Tensor('float32', floats, [5, 1])), [
      [0.1],
      [0.33333334],
      [null],
      [2.5],
      [1e-45],
    ]);
    const halves = Uint16Array.of(0x2e66, 0x7bff, 0xfc00);
    assert.deepEqual(tensorToNested(new ort.Tensor('float16', halves, [3])), [0.1, 65500, null]);
  });

  it('an ASCII name and numeric data give a text whose length is its UTF-8 size', () => {
    const random = seededRandom(7);
    const tensors = [
      new ort.Tensor(
        'float32',
        Float32Array.from({ length: 1000 }, () => random() * 1e6 - 5e5),
        [1000],
      ),
      new ort.Tensor(
        'float16',
        Uint16Array.from({ length: 1000 }, () => Math.floor(random() * 0x10000)),
        [1000],
      ),
      new ort.Tensor('int64', BigInt64Array.of(-9223372036854775808n, 1n), [2]),
    ];
    for (const tensor of tensors) {
      const text = encodeTensorJson('probabilities', tensor);
      assert.equal(Buffer.byteLength(text, 'utf8'), text.length);
    }
  });

  it('reuses buffers and arrays by length without leaking values between tensors of other lengths or kinds', () => {
    const long = new Float32Array(1000).map((_, index) => index + 0.5);
    const short = new Float32Array([7, 8, 9]);
    const ints = new Int32Array([1, -2, 2147483647]);
    const bools = new Uint8Array([1, 0, 1]);
    const huge = new Float32Array(300_000).fill(-1.2345678e-30);
    for (let round = 0; round < 3; round++) {
      assert.equal(dataOf(new ort.Tensor('float32', long, [1000])), JSON.stringify(Array.from(long)));
      assert.equal(dataOf(new ort.Tensor('float32', short, [3])), '[7,8,9]');
      // 15 characters a value: past the first guess of the buffer's size, so it grows mid-tensor.
      assert.equal(
        dataOf(new ort.Tensor('float32', huge, [huge.length])),
        `[${Array(huge.length).fill('-1.2345678e-30').join(',')}]`,
      );
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
