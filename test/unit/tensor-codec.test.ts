import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { InvalidRequestError } from '../../lib/core/errors/request-errors.js';
import type { TensorDatatype } from '../../lib/core/tensor/datatypes.js';
import { decodeRows, decodeTensor, MAX_TENSOR_ELEMENTS } from '../../lib/core/tensor/decode-tensor.js';
import { encodeTensorJson, stringifyJson, tensorToNested } from '../../lib/core/tensor/encode-tensor.js';
import { parseJson } from '../../lib/core/tensor/parse-json.js';
import type { TensorSpec } from '../../lib/core/tensor/TensorSpec.js';
import { httpStatusOf } from '../../lib/serving/http-errors.js';

/** A request tensor as the client writes it, in JSON text, decoded through the real parser. */
function requestTensor(
  datatype: string,
  shape: string,
  data: string,
): { name: string; datatype: string; shape: unknown; data: unknown } {
  return parseJson(`{"name":"x","datatype":"${datatype}","shape":${shape},"data":${data}}`) as {
    name: string;
    datatype: string;
    shape: unknown;
    data: unknown;
  };
}

function spec(datatype: TensorDatatype, shape: number[]): TensorSpec {
  return { name: 'x', datatype, shape };
}

/** Asserts that decoding fails with this status and a message naming the input and matching `message`. */
function assertRefused(decode: () => unknown, message: RegExp, status = 400): void {
  assert.throws(decode, (error: unknown) => {
    assert.ok(error instanceof Error, `expected an error, got ${String(error)}`);
    if (status === 400) assert.ok(error instanceof InvalidRequestError);
    assert.equal(httpStatusOf(error), status);
    assert.match(error.message, /^input "x": /);
    assert.match(error.message, message);
    return true;
  });
}

interface RoundTripCase {
  readonly datatype: TensorDatatype;
  readonly ortType: string;
  /** The request's data, as JSON text. */
  readonly data: string;
  /** The response's data, as JSON text (exact literals for 64-bit integers). */
  readonly encoded: string;
}

const ROUND_TRIPS: readonly RoundTripCase[] = [
  { datatype: 'BOOL', ortType: 'bool', data: '[true,false,true,false]', encoded: '[true,false,true,false]' },
  { datatype: 'UINT8', ortType: 'uint8', data: '[0,1,254,255]', encoded: '[0,1,254,255]' },
  { datatype: 'UINT16', ortType: 'uint16', data: '[0,1,65534,65535]', encoded: '[0,1,65534,65535]' },
  {
    datatype: 'UINT32',
    ortType: 'uint32',
    data: '[0,1,4294967294,4294967295]',
    encoded: '[0,1,4294967294,4294967295]',
  },
  {
    datatype: 'UINT64',
    ortType: 'uint64',
    data: '[0,9007199254740993,"18446744073709551614",18446744073709551615]',
    encoded: '[0,9007199254740993,18446744073709551614,18446744073709551615]',
  },
  { datatype: 'INT8', ortType: 'int8', data: '[-128,-1,0,127]', encoded: '[-128,-1,0,127]' },
  { datatype: 'INT16', ortType: 'int16', data: '[-32768,-1,0,32767]', encoded: '[-32768,-1,0,32767]' },
  {
    datatype: 'INT32',
    ortType: 'int32',
    data: '[-2147483648,-1,0,2147483647]',
    encoded: '[-2147483648,-1,0,2147483647]',
  },
  {
    datatype: 'INT64',
    ortType: 'int64',
    data: '[9223372036854775807,-9223372036854775808,9007199254740993,"-42"]',
    encoded: '[9223372036854775807,-9223372036854775808,9007199254740993,-42]',
  },
  {
    datatype: 'FP16',
    ortType: 'float16',
    // Smallest subnormal, largest subnormal, smallest normal, largest half; written as the shortest texts that
    // convert back to the same halves.
    data: '[5.960464477539063e-8,0.00006097555160522461,0.00006103515625,-65504]',
    encoded: '[6e-8,0.000061,0.00006104,-65500]',
  },
  {
    datatype: 'FP32',
    ortType: 'float32',
    data: '[0.5,-3.4028234663852886e38,1.401298464324817e-45,0.10000000149011612]',
    // The shortest texts that read back as the same float32s.
    encoded: '[0.5,-3.4028235e+38,1e-45,0.1]',
  },
  {
    datatype: 'FP64',
    ortType: 'float64',
    data: '[0.1,1.7976931348623157e308,5e-324,-2.5]',
    encoded: '[0.1,1.7976931348623157e+308,5e-324,-2.5]',
  },
  {
    datatype: 'BYTES',
    ortType: 'string',
    data: '["plain","quote \\" and backslash \\\\","unicode é 😀 中文 \\u0001","line\\nbreak"]',
    encoded: '["plain","quote \\" and backslash \\\\","unicode é 😀 中文 \\u0001","line\\nbreak"]',
  },
];

describe('decodeTensor: every datatype round-trips exactly through an onnxruntime tensor', () => {
  for (const { datatype, ortType, data, encoded } of ROUND_TRIPS) {
    it(`${datatype}: decodes flat data to a ${ortType} tensor and encodes the same values back`, () => {
      const tensor = decodeTensor(requestTensor(datatype, '[4]', data), spec(datatype, [-1]));
      assert.equal(tensor.type, ortType);
      assert.deepEqual(tensor.dims, [4]);
      const json = encodeTensorJson('x', tensor);
      assert.equal(json, `{"name":"x","datatype":"${datatype}","shape":[4],"data":${encoded}}`);
      // The encoded text parses back (exactly, through parseJson) to what the request meant.
      assert.deepEqual((parseJson(json) as { data: unknown }).data, parseJson(encoded));
    });

    it(`${datatype}: decodes nested data of shape [2,2] to the same row-major tensor`, () => {
      const flat = parseJson(data) as unknown[];
      const nestedData = `[${JSON.stringify(flat.slice(0, 2), bigints)},${JSON.stringify(flat.slice(2), bigints)}]`;
      const tensor = decodeTensor(requestTensor(datatype, '[2,2]', nestedData), spec(datatype, [2, -1]));
      assert.deepEqual(tensor.dims, [2, 2]);
      assert.equal(
        encodeTensorJson('x', tensor),
        `{"name":"x","datatype":"${datatype}","shape":[2,2],"data":${encoded}}`,
      );
    });
  }

  it('INT64: the typed array holds the exact values, not doubles', () => {
    const tensor = decodeTensor(
      requestTensor('INT64', '[3]', '[9223372036854775807,-9223372036854775808,9007199254740993]'),
      spec('INT64', [3]),
    );
    assert.deepEqual(Array.from(tensor.data as BigInt64Array), [
      2n ** 63n - 1n,
      -(2n ** 63n),
      2n ** 53n + 1n,
    ]);
  });

  it('FP16: the typed array holds half-precision bit patterns', () => {
    const tensor = decodeTensor(
      requestTensor('FP16', '[3]', '[1,-2,5.960464477539063e-8]'),
      spec('FP16', [-1]),
    );
    assert.ok(tensor.data instanceof Uint16Array);
    assert.deepEqual(Array.from(tensor.data), [0x3c00, 0xc000, 0x0001]);
  });

  it('FP32 and FP64 accept a bigint literal, converted to the nearest float', () => {
    const tensor = decodeTensor(requestTensor('FP64', '[1]', '[12345678901234567890]'), spec('FP64', [1]));
    assert.deepEqual(Array.from(tensor.data as Float64Array), [12345678901234567000]);
  });

  it('accepts rank 0 (one value), empty tensors and dimensions of any size where the model says -1', () => {
    assert.deepEqual(
      decodeTensor(requestTensor('FP32', '[]', '[2.5]'), spec('FP32', [])).data,
      new Float32Array([2.5]),
    );
    assert.deepEqual(decodeTensor(requestTensor('FP32', '[0,4]', '[]'), spec('FP32', [-1, 4])).dims, [0, 4]);
    assert.deepEqual(
      decodeTensor(requestTensor('INT32', '[3,1,2]', '[1,2,3,4,5,6]'), spec('INT32', [-1, 1, -1])).dims,
      [3, 1, 2],
    );
  });

  it('accepts nested data of rank 3', () => {
    const tensor = decodeTensor(
      requestTensor('INT32', '[2,1,2]', '[[[1,2]],[[3,4]]]'),
      spec('INT32', [-1, 1, 2]),
    );
    assert.deepEqual(Array.from(tensor.data as Int32Array), [1, 2, 3, 4]);
  });
});

describe('decodeTensor: refuses tensors that do not match the model input', () => {
  it("refuses a datatype other than the model's, naming both", () => {
    assertRefused(
      () => decodeTensor(requestTensor('FP64', '[1,4]', '[1,2,3,4]'), spec('FP32', [-1, 4])),
      /datatype is "FP64", expected FP32/,
    );
  });

  it('refuses a shape of the wrong rank, naming both ranks and the model shape', () => {
    assertRefused(
      () => decodeTensor(requestTensor('FP32', '[4]', '[1,2,3,4]'), spec('FP32', [-1, 4])),
      /shape has rank 1, expected rank 2 \(model shape \[-1,4\]/,
    );
  });

  it('refuses a fixed dimension of another size', () => {
    assertRefused(
      () => decodeTensor(requestTensor('FP32', '[1,3]', '[1,2,3]'), spec('FP32', [-1, 4])),
      /dimension 1 is 3, expected 4 \(model shape \[-1,4\]/,
    );
  });

  for (const shape of ['"2x4"', '[2,-4]', '[2,1.5]', '[2,"4"]', '[2,null]']) {
    it(`refuses the shape ${shape}`, () => {
      assertRefused(
        () => decodeTensor(requestTensor('FP32', shape, '[]'), spec('FP32', [-1, -1])),
        /shape.* expected a non-negative integer|shape must be an array/,
      );
    });
  }

  it('refuses flat data whose length is not the product of the shape', () => {
    assertRefused(
      () => decodeTensor(requestTensor('FP32', '[2,4]', '[1,2,3,4,5,6,7]'), spec('FP32', [-1, 4])),
      /shape \[2,4\] needs 8 values, data has 7/,
    );
  });

  it('refuses nested data with too few rows', () => {
    assertRefused(
      () => decodeTensor(requestTensor('FP32', '[3,2]', '[[1,2],[3,4]]'), spec('FP32', [-1, 2])),
      /data has 2 elements, expected 3 \(shape \[3,2\]\)/,
    );
  });

  it('refuses ragged nested data, naming the short row', () => {
    assertRefused(
      () => decodeTensor(requestTensor('FP32', '[2,4]', '[[1,2,3,4],[1,2,3]]'), spec('FP32', [-1, 4])),
      /data\[1\] has 3 elements, expected 4 \(shape \[2,4\]\)/,
    );
  });

  it('refuses nested data that mixes rows and scalars', () => {
    assertRefused(
      () => decodeTensor(requestTensor('FP32', '[2,2]', '[[1,2],3]'), spec('FP32', [-1, 2])),
      /data\[1\] is 3, expected an array of 2/,
    );
  });

  it('refuses nested data that is only partly nested', () => {
    assertRefused(
      () => decodeTensor(requestTensor('FP32', '[2,2,2]', '[[1,2,3,4],[5,6,7,8]]'), spec('FP32', [-1, 2, 2])),
      /data\[0\] has 4 elements, expected 2/,
    );
  });

  it('refuses data nested deeper than the shape', () => {
    assertRefused(
      () => decodeTensor(requestTensor('FP32', '[2,1]', '[[[1]],[[2]]]'), spec('FP32', [-1, 1])),
      /data\[0\]\[0\] is an array: expected a finite number \(FP32\)/,
    );
  });

  it('refuses data that is not an array', () => {
    assertRefused(
      () => decodeTensor(requestTensor('FP32', '[1]', '{"0":1}'), spec('FP32', [1])),
      /data must be an array, got an object/,
    );
  });

  it(`answers 400 for a shape of more than ${MAX_TENSOR_ELEMENTS} elements, before reading the data`, () => {
    assertRefused(
      () =>
        decodeTensor(
          requestTensor('FP32', '[100000,100000,100000,100000]', '[]'),
          spec('FP32', [-1, -1, -1, -1]),
        ),
      new RegExp(`more than ${MAX_TENSOR_ELEMENTS} elements`),
      400,
    );
  });
});

/** Each integer datatype with the first value below and above its range, as JSON literals. */
const OUT_OF_RANGE: ReadonlyArray<readonly [TensorDatatype, string, string]> = [
  ['INT8', '-129', '128'],
  ['INT16', '-32769', '32768'],
  ['INT32', '-2147483649', '2147483648'],
  ['INT64', '-9223372036854775809', '9223372036854775808'],
  ['UINT8', '-1', '256'],
  ['UINT16', '-1', '65536'],
  ['UINT32', '-1', '4294967296'],
  ['UINT64', '-1', '18446744073709551616'],
];

describe('decodeTensor: refuses values the datatype cannot hold exactly', () => {
  for (const [datatype, below, above] of OUT_OF_RANGE) {
    for (const literal of [below, above]) {
      it(`${datatype}: refuses ${literal} as out of range, naming the element`, () => {
        assertRefused(
          () =>
            decodeTensor(requestTensor(datatype, '[2,2]', `[[0,0],[0,${literal}]]`), spec(datatype, [-1, 2])),
          new RegExp(`data\\[1\\]\\[1\\] is ${literal}: out of range for ${datatype}`),
        );
      });
    }
    it(`${datatype}: refuses 1.5, which is not an integer`, () => {
      assertRefused(
        () => decodeTensor(requestTensor(datatype, '[2]', '[1, 1.5]'), spec(datatype, [2])),
        /data\[1\] is 1.5: not an integer/,
      );
    });
  }

  for (const datatype of ['INT64', 'UINT64'] as const) {
    it(`${datatype}: refuses a number beyond 2^53, asking for an integer literal or a string`, () => {
      const message = /cannot be represented exactly; send .* as integer literals or decimal strings/;
      assertRefused(
        () => decodeTensor({ name: 'x', datatype, shape: [1], data: [2 ** 53] }, spec(datatype, [1])),
        message,
      );
      assertRefused(
        () => decodeTensor(requestTensor(datatype, '[1]', '[1e17]'), spec(datatype, [1])),
        message,
      );
    });

    it(`${datatype}: refuses strings that are not decimal integers`, () => {
      for (const text of ['"abc"', '"1.5"', '"0x10"', '" 1"', '"+1"', '"007"', '""']) {
        assertRefused(
          () => decodeTensor(requestTensor(datatype, '[1]', `[${text}]`), spec(datatype, [1])),
          /expected an integer .* as a number, integer literal or decimal string/,
        );
      }
    });
  }

  for (const datatype of ['INT8', 'INT16', 'INT32', 'UINT8', 'UINT16', 'UINT32'] as const) {
    it(`${datatype}: refuses numbers sent as strings`, () => {
      assertRefused(
        () => decodeTensor(requestTensor(datatype, '[1]', '["12"]'), spec(datatype, [1])),
        /data\[0\] is "12": expected an integer/,
      );
    });
  }

  for (const datatype of ['FP16', 'FP32', 'FP64'] as const) {
    it(`${datatype}: refuses NaN, Infinity, strings, null and booleans`, () => {
      for (const value of [
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        '1.5',
        'NaN',
        null,
        true,
      ]) {
        assertRefused(
          () => decodeTensor({ name: 'x', datatype, shape: [2], data: [0, value] }, spec(datatype, [2])),
          new RegExp(`data\\[1\\] is .*: expected a finite number \\(${datatype}\\)`),
        );
      }
    });

    it(`${datatype}: refuses 1e400 already while parsing the body`, () => {
      assert.throws(() => requestTensor(datatype, '[1]', '[1e400]'), InvalidRequestError);
    });
  }

  it('FP16: refuses values beyond 65504 instead of sending infinity', () => {
    assertRefused(
      () => decodeTensor(requestTensor('FP16', '[1]', '[65505]'), spec('FP16', [1])),
      /65505: out of range for FP16 \(\|x\| <= 65504\)/,
    );
  });

  it('FP32: refuses values beyond the largest float32 instead of sending infinity', () => {
    assertRefused(
      () => decodeTensor(requestTensor('FP32', '[1]', '[-1e39]'), spec('FP32', [1])),
      /-1e\+39: out of range for FP32/,
    );
    assertRefused(
      () => decodeTensor(requestTensor('FP32', '[1]', `[1${'0'.repeat(39)}]`), spec('FP32', [1])),
      /out of range for FP32/,
    );
  });

  it('BOOL: refuses 1, 0 and "true"', () => {
    for (const text of ['1', '0', '"true"', 'null']) {
      assertRefused(
        () => decodeTensor(requestTensor('BOOL', '[1]', `[${text}]`), spec('BOOL', [1])),
        /expected true or false \(BOOL\)/,
      );
    }
  });

  it('BYTES: refuses numbers, null and arrays', () => {
    for (const text of ['1', 'null', '[]']) {
      assertRefused(
        () => decodeTensor(requestTensor('BYTES', '[1]', `[${text}]`), spec('BYTES', [1])),
        /expected a string \(BYTES\)/,
      );
    }
  });

  it('quotes only the start of a long bad string', () => {
    const long = 'y'.repeat(1000);
    assert.throws(
      () => decodeTensor(requestTensor('FP32', '[1]', `["${long}"]`), spec('FP32', [1])),
      (error: Error) => error.message.length < 200,
    );
  });
});

describe('decodeRows: the simple form infers the shape from the nesting', () => {
  it('takes rows as the first dimension', () => {
    const tensor = decodeRows('x', parseJson('[[5.1,3.5,1.4,0.2],[4.9,3,1.4,0.2]]'), spec('FP32', [-1, 4]));
    assert.equal(tensor.type, 'float32');
    assert.deepEqual(tensor.dims, [2, 4]);
    assert.deepEqual(
      Array.from(tensor.data as Float32Array),
      Array.from(new Float32Array([5.1, 3.5, 1.4, 0.2, 4.9, 3, 1.4, 0.2])),
    );
  });

  it('uses the model datatype, keeping INT64 exact', () => {
    const tensor = decodeRows('x', parseJson('[[9223372036854775807],[1]]'), spec('INT64', [-1, 1]));
    assert.deepEqual(Array.from(tensor.data as BigInt64Array), [2n ** 63n - 1n, 1n]);
  });

  it('refuses a single row where the model takes a batch of rows', () => {
    assertRefused(
      () => decodeRows('x', [5.1, 3.5, 1.4, 0.2], spec('FP32', [-1, 4])),
      /rank 1, expected rank 2/,
    );
  });

  it('refuses rows nested deeper than the model rank', () => {
    assertRefused(() => decodeRows('x', [[[1, 2]]], spec('FP32', [-1, 2])), /rank 3, expected rank 2/);
  });

  it('refuses ragged rows', () => {
    assertRefused(
      () => decodeRows('x', [[1, 2], [3]], spec('FP32', [-1, 2])),
      /data\[1\] has 1 elements, expected 2/,
    );
  });

  it('refuses rows of the wrong width', () => {
    assertRefused(() => decodeRows('x', [[1, 2, 3]], spec('FP32', [-1, 4])), /dimension 1 is 3, expected 4/);
  });

  it('takes a bare value for a rank-0 input', () => {
    assert.deepEqual(Array.from(decodeRows('x', 7, spec('INT32', [])).data as Int32Array), [7]);
  });
});

describe('encodeTensorJson: writes V2 output tensors as JSON', () => {
  it('writes non-finite floats as null, since JSON has no NaN or Infinity', () => {
    const tensor = new ort.Tensor(
      'float32',
      new Float32Array([1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]),
      [4],
    );
    assert.equal(
      encodeTensorJson('y', tensor),
      '{"name":"y","datatype":"FP32","shape":[4],"data":[1,null,null,null]}',
    );
  });

  it('writes FP16 infinity and NaN as null', () => {
    const tensor = new ort.Tensor('float16', new Uint16Array([0x3c00, 0x7c00, 0x7e00]), [3]);
    assert.equal(
      encodeTensorJson('y', tensor),
      '{"name":"y","datatype":"FP16","shape":[3],"data":[1,null,null]}',
    );
  });

  it('escapes the tensor name', () => {
    const tensor = new ort.Tensor('int32', new Int32Array([1]), [1]);
    assert.equal(
      encodeTensorJson('a"b', tensor),
      '{"name":"a\\"b","datatype":"INT32","shape":[1],"data":[1]}',
    );
  });

  it('writes FP32 outputs as numbers that read back as the same float32s', () => {
    const values = new Float32Array(300).map(
      () => (Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 20 - 10),
    );
    const tensor = new ort.Tensor('float32', values, [100, 3]);
    const written = JSON.parse(encodeTensorJson('y', tensor)) as { data: number[] };
    assert.deepEqual(Float32Array.from(written.data), values);
  });
});

describe('tensorToNested: output values nested by the tensor dims, JSON-safe', () => {
  it('nests row-major by dims', () => {
    const tensor = new ort.Tensor('int32', new Int32Array([1, 2, 3, 4, 5, 6]), [2, 1, 3]);
    assert.deepEqual(tensorToNested(tensor), [[[1, 2, 3]], [[4, 5, 6]]]);
  });

  it('gives INT64 as numbers where safe and as bigints beyond', () => {
    const tensor = new ort.Tensor(
      'int64',
      new BigInt64Array([1n, -(2n ** 53n) + 1n, 2n ** 53n, -(2n ** 63n)]),
      [2, 2],
    );
    assert.deepEqual(tensorToNested(tensor), [
      [1, -(2 ** 53) + 1],
      [2n ** 53n, -(2n ** 63n)],
    ]);
  });

  it('gives booleans, strings, decoded FP16 and null for non-finite floats', () => {
    assert.deepEqual(tensorToNested(new ort.Tensor('bool', new Uint8Array([1, 0]), [2])), [true, false]);
    assert.deepEqual(tensorToNested(new ort.Tensor('string', ['a', 'é'], [2])), ['a', 'é']);
    assert.deepEqual(tensorToNested(new ort.Tensor('float16', new Uint16Array([0x3800, 0x7c00]), [2])), [
      0.5,
      null,
    ]);
    assert.deepEqual(tensorToNested(new ort.Tensor('float64', new Float64Array([Number.NaN, 2]), [1, 2])), [
      [null, 2],
    ]);
  });

  it('keeps empty dimensions', () => {
    assert.deepEqual(tensorToNested(new ort.Tensor('float32', new Float32Array([]), [2, 0])), [[], []]);
  });

  it('gives the single value of a rank-0 tensor', () => {
    assert.equal(tensorToNested(new ort.Tensor('float32', new Float32Array([3]), [])), 3);
  });
});

describe('stringifyJson: JSON.stringify that writes bigints as exact integer literals', () => {
  it('writes bigints exactly, wherever they are', () => {
    const value = { model: 'm', predictions: [[9223372036854775807n, 1], { big: -(2n ** 63n), small: 2 }] };
    assert.equal(
      stringifyJson(value),
      '{"model":"m","predictions":[[9223372036854775807,1],{"big":-9223372036854775808,"small":2}]}',
    );
  });

  it('follows JSON.stringify for everything else', () => {
    const value = {
      a: undefined,
      b: [undefined, () => 1, Number.NaN, -0, 1e21],
      c: 'q"\u2028',
      d: null,
      e: { toJSON: () => 'custom' },
      f: true,
      big: 1n,
    };
    const reference = JSON.stringify({ ...value, big: 1 });
    assert.equal(stringifyJson(value), reference);
  });

  it('takes JSON.stringify itself when there is no bigint', () => {
    assert.equal(stringifyJson({ a: [1, 'x'] }), '{"a":[1,"x"]}');
  });
});

/** A JSON.stringify replacer for test fixtures: bigint as a raw literal is not possible, so as a decimal string. */
function bigints(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
