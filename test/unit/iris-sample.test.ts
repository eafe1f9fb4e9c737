import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { type GoldenTensor, PublishExtrasSchema } from '../../lib/core/manifest/ModelManifest.js';
import { SAMPLE_MODELS } from '../../lib/local/sample-models.js';
import { readModelSignature } from '../../lib/publish/read-model-signature.js';
import {
  buildIrisExtras,
  exportIrisModel,
  formatExtras,
  IRIS_LABELS,
  loadIrisData,
  trainIris,
} from '../../lib/tools/train-iris.js';

const iris = SAMPLE_MODELS.find((sample) => sample.name === 'iris');
assert.ok(iris, 'SAMPLE_MODELS lists iris');
const committedModel = new Uint8Array(await readFile(iris.modelPath));
const committedExtras = await readFile(iris.extrasPath, 'utf8');
const data = loadIrisData();

describe('iris sample: the committed files are what `npm run samples` writes now', () => {
  it('model.onnx equals the freshly trained and exported model, byte for byte', () => {
    const rebuilt = exportIrisModel(trainIris(data));
    assert.equal(rebuilt.length, committedModel.length);
    assert.deepEqual(rebuilt, committedModel, 'run `npm run samples` and commit lib/samples/iris');
  });

  it('extras.json equals the freshly built extras, byte for byte', async () => {
    assert.equal(formatExtras(await buildIrisExtras(committedModel, data)), committedExtras);
  });
});

describe('iris sample: the model', () => {
  it('takes features FP32 [-1, 4] and answers label INT64 [-1] and probabilities FP32 [-1, 3]', () => {
    const signature = readModelSignature(committedModel);
    assert.deepEqual(signature.inputs, [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }]);
    assert.deepEqual(signature.outputs, [
      { name: 'label', datatype: 'INT64', shape: [-1] },
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
    ]);
  });

  it('classifies at least 95% of the iris data set correctly in onnxruntime', async () => {
    const session = await ort.InferenceSession.create(committedModel);
    const features = new ort.Tensor('float32', Float32Array.from(data.features.flat()), [
      data.features.length,
      4,
    ]);
    const { label, probabilities } = await session.run({ features });
    const labels = Array.from(label.data as BigInt64Array, Number);
    const accuracy = labels.filter((predicted, i) => predicted === data.classes[i]).length / labels.length;
    assert.ok(accuracy >= 0.95, `accuracy ${accuracy}`);

    const probs = probabilities.data as Float32Array;
    labels.forEach((predicted, row) => {
      const rowProbs = Array.from(probs.subarray(row * 3, row * 3 + 3));
      assert.ok(Math.abs(rowProbs[0] + rowProbs[1] + rowProbs[2] - 1) < 1e-5, `row ${row} sums to 1`);
      assert.equal(predicted, rowProbs.indexOf(Math.max(...rowProbs)), `row ${row} label is the argmax`);
    });
    await session.release();
  });

  it('trains to at least 95% accuracy in TypeScript too', () => {
    assert.ok(trainIris(data).trainingAccuracy >= 0.95);
  });
});

describe('iris sample: extras.json', () => {
  const extras = PublishExtrasSchema.parse(JSON.parse(committedExtras));

  it('parses as publish extras with the three class labels and a description', () => {
    assert.deepEqual(extras.labels, [...IRIS_LABELS]);
    assert.ok(extras.description && extras.description.length > 0);
  });

  it('has one golden example per class, each expecting that class', () => {
    const expectedLabels = (extras.goldenExamples ?? []).map(
      (example) => outputNamed(example.outputs, 'label').data,
    );
    assert.deepEqual(expectedLabels, [[0], [1], [2]]);
  });

  it("golden examples match the committed model's outputs within their tolerance", async () => {
    const session = await ort.InferenceSession.create(committedModel);
    for (const example of extras.goldenExamples ?? []) {
      const [input] = example.inputs;
      const feeds = {
        [input.name]: new ort.Tensor('float32', Float32Array.from(input.data as number[]), input.shape),
      };
      const result = await session.run(feeds);
      for (const expected of example.outputs) {
        const actual = Array.from(result[expected.name].data as ArrayLike<number | bigint>, Number);
        assert.deepEqual(result[expected.name].dims, expected.shape);
        assert.equal(actual.length, expected.data.length);
        actual.forEach((value, i) => {
          const want = expected.data[i] as number;
          assert.ok(
            Math.abs(value - want) <= example.tolerance * Math.max(1, Math.abs(want)),
            `${expected.name}[${i}]: got ${value}, expected ${want}`,
          );
        });
      }
    }
    await session.release();
  });
});

function outputNamed(outputs: readonly GoldenTensor[], name: string): GoldenTensor {
  const output = outputs.find((tensor) => tensor.name === name);
  assert.ok(output, `golden example has output "${name}"`);
  return output;
}
