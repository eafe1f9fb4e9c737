/** Output encoding rows of `npm run bench`: sluice's JSON writer against JSON.stringify. */
import * as ort from 'onnxruntime-node';
import { encodeTensorJson } from '../lib/core/tensor/encode-tensor.js';
import { fromFloat16Bits } from '../lib/core/tensor/float16.js';
import { seededRandom } from '../lib/tools/seeded-random.js';
import { fastestMs, quick, type Row, ratioRow } from './row.js';

/**
 * Output encoding against `JSON.stringify(Array.from(x))` (BigInts as numbers, which is what that reference can
 * write): one row per value pattern named by the issue (the 1M uniform floats row at the 2x, the others at
 * 1x), one for the slowest of every other datatype, and one for the characters an FP32 value takes against its
 * float64 form.
 */
export function encodingRows(): Row[] {
  const random = seededRandom(3);
  const floats = (length: number, value: (index: number) => number) =>
    Float32Array.from({ length }, (_, index) => value(index));
  const softmax = floats(265_000, () => random());
  let sum = 0;
  for (const value of softmax) sum += value;
  for (let index = 0; index < softmax.length; index++) softmax[index] = (softmax[index] as number) / sum;
  const uniform = new ort.Tensor(
    'float32',
    floats(1_000_000, () => random()),
    [1_000_000],
  );
  const patterns: [string, ort.Tensor, number][] = [
    ['265k-value softmax (FP32)', new ort.Tensor('float32', softmax, [1, softmax.length]), 1],
    ['1M uniform floats (FP32)', uniform, 2],
    [
      '1M mostly-zero map (FP32)',
      new ort.Tensor(
        'float32',
        floats(1_000_000, () => (random() < 0.95 ? 0 : random())),
        [1_000_000],
      ),
      1,
    ],
  ];
  const count = 500_000;
  const datatypes: [string, ort.Tensor][] = [
    [
      'FP64',
      new ort.Tensor(
        'float64',
        Float64Array.from({ length: count }, () => random()),
        [count],
      ),
    ],
    [
      'FP16',
      new ort.Tensor(
        'float16',
        Uint16Array.from({ length: count }, () => (random() * 0x7bff) | 0),
        [count],
      ),
    ],
    [
      'INT8',
      new ort.Tensor(
        'int8',
        Int8Array.from({ length: count }, () => (random() * 255 - 128) | 0),
        [count],
      ),
    ],
    [
      'INT16',
      new ort.Tensor(
        'int16',
        Int16Array.from({ length: count }, () => (random() * 65535 - 32768) | 0),
        [count],
      ),
    ],
    [
      'INT32',
      new ort.Tensor(
        'int32',
        Int32Array.from({ length: count }, () => (random() * 2 ** 32 - 2 ** 31) | 0),
        [count],
      ),
    ],
    [
      'INT64',
      new ort.Tensor(
        'int64',
        BigInt64Array.from({ length: count }, () => BigInt(Math.floor(random() * 1e12))),
        [count],
      ),
    ],
    [
      'UINT8',
      new ort.Tensor(
        'uint8',
        Uint8Array.from({ length: count }, () => (random() * 255) | 0),
        [count],
      ),
    ],
    [
      'UINT16',
      new ort.Tensor(
        'uint16',
        Uint16Array.from({ length: count }, () => (random() * 65535) | 0),
        [count],
      ),
    ],
    [
      'UINT32',
      new ort.Tensor(
        'uint32',
        Uint32Array.from({ length: count }, () => Math.floor(random() * 2 ** 32)),
        [count],
      ),
    ],
    [
      'UINT64',
      new ort.Tensor(
        'uint64',
        BigUint64Array.from({ length: count }, () => BigInt(Math.floor(random() * 1e12))),
        [count],
      ),
    ],
    [
      'BOOL',
      new ort.Tensor(
        'bool',
        Uint8Array.from({ length: count }, () => (random() < 0.5 ? 1 : 0)),
        [count],
      ),
    ],
    [
      'BYTES',
      new ort.Tensor(
        'string',
        Array.from({ length: 100_000 }, (_, index) => `label-${index}`),
        [100_000],
      ),
    ],
  ];
  const runs = quick ? 3 : 7;
  const speedup = (tensor: ort.Tensor): { ours: number; reference: number } => {
    const data = tensor.data as ArrayLike<unknown>;
    // The values themselves: 64-bit integers as numbers (all JSON.stringify can write), FP16 as the halves they
    // denote (its raw data is bit patterns, which would be a different and easier text).
    const reference =
      tensor.type === 'float16'
        ? () => JSON.stringify(Array.from(data as ArrayLike<number>, fromFloat16Bits))
        : typeof data[0] === 'bigint'
          ? () => JSON.stringify(Array.from(data, Number))
          : () => JSON.stringify(Array.from(data));
    const ours = () => encodeTensorJson('y', tensor);
    // Alternated, best of each, so drift on a shared machine hits both sides.
    let best = { ours: Number.POSITIVE_INFINITY, reference: Number.POSITIVE_INFINITY };
    for (let round = 0; round < 2; round++) {
      best = {
        ours: Math.min(best.ours, fastestMs(ours, runs)),
        reference: Math.min(best.reference, fastestMs(reference, runs)),
      };
    }
    return best;
  };
  const result: Row[] = patterns.map(([label, tensor, target]) => {
    const { ours, reference } = speedup(tensor);
    return ratioRow(
      `output encoding, ${label}`,
      reference / ours,
      target,
      `${ours.toFixed(1)} vs ${reference.toFixed(1)} ms (JSON.stringify(Array.from(x)))`,
    );
  });
  const ourChars = encodeTensorJson('y', uniform).length;
  const float64Chars = JSON.stringify(Array.from(uniform.data as Float32Array)).length;
  result.push(
    ratioRow(
      'output encoding, characters per FP32 value vs its float64 form (1M uniform floats)',
      ourChars / float64Chars,
      -0.7,
      `${(ourChars / uniform.size).toFixed(1)} vs ${(float64Chars / uniform.size).toFixed(1)} characters`,
    ),
  );
  let worst = { label: '', ratio: Number.POSITIVE_INFINITY, ours: 0, reference: 0 };
  for (const [label, tensor] of datatypes) {
    const { ours, reference } = speedup(tensor);
    if (reference / ours < worst.ratio) worst = { label, ratio: reference / ours, ours, reference };
  }
  result.push(
    ratioRow(
      'output encoding, every other datatype (slowest)',
      worst.ratio,
      1,
      `${worst.label}: ${worst.ours.toFixed(1)} vs ${worst.reference.toFixed(1)} ms`,
    ),
  );
  return result;
}
