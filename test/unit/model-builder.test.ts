import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidModelError } from '../../lib/core/errors/model-errors.js';
import {
  ORT_TYPE_BY_DATATYPE,
  TENSOR_DATATYPES,
  type TensorDatatype,
} from '../../lib/core/tensor/datatypes.js';
import { readModelSignature } from '../../lib/publish/read-model-signature.js';
import { onnxRuntime } from '../../lib/serving/onnx-runtime.js';
import { BUILT_MODEL_IR_VERSION, buildModel, DEFAULT_OPSET_VERSION } from '../../lib/tools/model-builder.js';
import { classifierModel, identityModel, runtimeFailureModel, twoInputModel } from '../fixtures/models.js';

/** onnxruntime through sluice's loader, which hides Node 24's Float16Array from it as the function does. */
const ort = onnxRuntime();

/** Three values per datatype, including the extremes that break naive number conversions. */
const SAMPLE_DATA = {
  BOOL: [true, false, true],
  UINT8: new Uint8Array([0, 255, 7]),
  UINT16: new Uint16Array([0, 65535, 7]),
  UINT32: new Uint32Array([0, 4294967295, 7]),
  UINT64: new BigUint64Array([0n, 18446744073709551615n, 9007199254740993n]),
  INT8: new Int8Array([-128, 127, 0]),
  INT16: new Int16Array([-32768, 32767, 1]),
  INT32: new Int32Array([-2147483648, 2147483647, 1]),
  INT64: new BigInt64Array([-9223372036854775808n, 9223372036854775807n, -9007199254740993n]),
  // Half-precision bit patterns: 1, -2 and the largest finite half (65504).
  FP16: new Uint16Array([0x3c00, 0xc000, 0x7bff]),
  FP32: new Float32Array([1.5, -2, 3e38]),
  FP64: new Float64Array([1e300, -0.1, 5]),
  BYTES: ['a', '', 'héllo'],
} as const satisfies Record<TensorDatatype, unknown>;

/** What a round trip must give back; onnxruntime-node returns BOOL tensors as 0/1 bytes. */
function expectedRoundTrip(datatype: TensorDatatype): unknown[] {
  const sent: ArrayLike<unknown> = SAMPLE_DATA[datatype];
  return datatype === 'BOOL' ? Array.from(sent, (value) => (value ? 1 : 0)) : Array.from(sent);
}

describe('buildModel: signatures read back as declared', () => {
  it('reads -1 for dynamic dimensions and the size for fixed ones', () => {
    const bytes = buildModel({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3, -1] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 3, -1] }],
      nodes: [{ opType: 'Relu', inputs: ['x'], outputs: ['y'] }],
    });
    const signature = readModelSignature(bytes);
    assert.deepEqual(signature.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 3, -1] }]);
    assert.deepEqual(signature.outputs, [{ name: 'y', datatype: 'FP32', shape: [-1, 3, -1] }]);
  });

  it('does not list initializers as inputs', () => {
    const signature = readModelSignature(classifierModel({ features: 6, classes: 4 }));
    assert.deepEqual(signature.inputs, [{ name: 'features', datatype: 'FP32', shape: [-1, 6] }]);
    assert.deepEqual(signature.outputs, [
      { name: 'label', datatype: 'INT64', shape: [-1] },
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 4] },
    ]);
  });

  it('records IR version 8, opset 17 and producer "sluice" by default', () => {
    const signature = readModelSignature(twoInputModel());
    assert.equal(signature.irVersion, BUILT_MODEL_IR_VERSION);
    assert.equal(signature.opsetVersion, DEFAULT_OPSET_VERSION);
    assert.equal(signature.producerName, 'sluice');
  });

  for (const datatype of TENSOR_DATATYPES) {
    it(`gives the ${datatype} identity model the signature x -> y of ${datatype}`, () => {
      const signature = readModelSignature(identityModel(datatype, [-1, 2]));
      assert.deepEqual(signature.inputs, [{ name: 'x', datatype, shape: [-1, 2] }]);
      assert.deepEqual(signature.outputs, [{ name: 'y', datatype, shape: [-1, 2] }]);
    });
  }
});

describe('buildModel: output is deterministic and checked', () => {
  it('writes the same bytes for the same spec', () => {
    assert.deepEqual(classifierModel({ seed: 7 }), classifierModel({ seed: 7 }));
    assert.notDeepEqual(classifierModel({ seed: 7 }), classifierModel({ seed: 8 }));
  });

  it('rejects a dimension below -1', () => {
    assert.throws(() => identityModel('FP32', [-2]), RangeError);
  });

  it('rejects an initializer whose data does not fill its dims', () => {
    assert.throws(
      () =>
        buildModel({
          inputs: [{ name: 'x', datatype: 'FP32', shape: [2] }],
          outputs: [{ name: 'y', datatype: 'FP32', shape: [2] }],
          initializers: [{ name: 'w', dims: [2], data: new Float32Array(3) }],
          nodes: [{ opType: 'Add', inputs: ['x', 'w'], outputs: ['y'] }],
        }),
      /need 2 values, got 3/,
    );
  });

  it('rejects a plain-array initializer without a datatype', () => {
    assert.throws(
      () =>
        buildModel({
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }],
          outputs: [{ name: 'y', datatype: 'FP32', shape: [1] }],
          initializers: [{ name: 'w', dims: [1], data: [1] }],
          nodes: [{ opType: 'Add', inputs: ['x', 'w'], outputs: ['y'] }],
        }),
      /give a datatype/,
    );
  });
});

describe('buildModel: models run in onnxruntime-node', () => {
  for (const datatype of TENSOR_DATATYPES) {
    it(`round-trips ${datatype} through the identity model exactly`, async () => {
      const session = await ort.InferenceSession.create(identityModel(datatype));
      const input = new ort.Tensor(ORT_TYPE_BY_DATATYPE[datatype], SAMPLE_DATA[datatype] as never, [3]);
      const { y } = await session.run({ x: input });
      assert.equal(y.type, ORT_TYPE_BY_DATATYPE[datatype]);
      assert.deepEqual(y.dims, [3]);
      assert.deepEqual(Array.from(y.data as ArrayLike<unknown>), expectedRoundTrip(datatype));
      await session.release();
    });
  }

  it('adds the two inputs of the two-input model', async () => {
    const session = await ort.InferenceSession.create(twoInputModel());
    const { sum } = await session.run({
      a: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]),
      b: new ort.Tensor('float32', Float32Array.of(10, 20, 30, 40, 50, 60), [2, 3]),
    });
    assert.deepEqual(Array.from(sum.data as Float32Array), [11, 22, 33, 44, 55, 66]);
    await session.release();
  });

  it('gives the classifier a label per row that is the argmax of its probabilities', async () => {
    const session = await ort.InferenceSession.create(classifierModel({ features: 8, classes: 5, seed: 3 }));
    const rows = 4;
    const features = Float32Array.from({ length: rows * 8 }, (_, i) => Math.sin(i));
    const { label, probabilities } = await session.run({
      features: new ort.Tensor('float32', features, [rows, 8]),
    });
    assert.deepEqual(probabilities.dims, [rows, 5]);
    const probs = probabilities.data as Float32Array;
    for (let row = 0; row < rows; row++) {
      const rowProbs = Array.from(probs.subarray(row * 5, row * 5 + 5));
      assert.ok(Math.abs(rowProbs.reduce((a, b) => a + b, 0) - 1) < 1e-5);
      assert.equal(Number((label.data as BigInt64Array)[row]), rowProbs.indexOf(Math.max(...rowProbs)));
    }
    await session.release();
  });

  it('loads the runtime-failure model but fails every run, also an empty batch', async () => {
    // Severity 4 (fatal only): the expected failures would otherwise print onnxruntime's error log.
    const session = await ort.InferenceSession.create(runtimeFailureModel(), { logSeverityLevel: 4 });
    assert.deepEqual(session.inputNames, ['features']);
    assert.deepEqual(session.outputNames, ['label', 'probabilities']);
    for (const rows of [0, 1, 7, 35]) {
      const features = new ort.Tensor('float32', new Float32Array(rows * 4), [rows, 4]);
      await assert.rejects(session.run({ features }), /cannot be reshaped/, `batch of ${rows} rows`);
    }
    await session.release();
  });
});

describe('readModelSignature: bytes that are not a usable model', () => {
  const model = classifierModel();

  for (const fraction of [0.25, 0.5, 0.75, 0.95]) {
    it(`throws InvalidModelError for a model truncated to ${fraction * 100}% of its bytes`, () => {
      const truncated = model.subarray(0, Math.floor(model.length * fraction));
      assert.throws(() => readModelSignature(truncated), InvalidModelError);
    });
  }

  for (const [what, bytes] of [
    ['empty bytes', new Uint8Array(0)],
    ['plain text', new TextEncoder().encode('this is not an ONNX model')],
    ['JSON', new TextEncoder().encode('{"inputs": [{"name": "x"}]}')],
    ['a ZIP header', Uint8Array.of(0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00)],
  ] as const) {
    it(`throws InvalidModelError for ${what}`, () => {
      assert.throws(() => readModelSignature(bytes), InvalidModelError);
    });
  }
});
