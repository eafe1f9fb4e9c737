/**
 * Regenerates the bundled sample models (`npm run samples`).
 *
 * Deterministic: running it again writes byte-identical files, so a diff after running it means the
 * training code changed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SAMPLE_MODELS } from '../local/sample-models.js';
import { buildIrisExtras, exportIrisModel, formatExtras, trainIris } from './train-iris.js';

/** The lowest training accuracy at which the iris sample is written; below it the training code is broken. */
const MIN_IRIS_ACCURACY = 0.95;

const iris = SAMPLE_MODELS.find((sample) => sample.name === 'iris');
if (!iris) throw new Error('SAMPLE_MODELS has no "iris" entry');

const classifier = trainIris();
if (classifier.trainingAccuracy < MIN_IRIS_ACCURACY) {
  throw new Error(
    `iris training accuracy ${classifier.trainingAccuracy} is below ${MIN_IRIS_ACCURACY}; not writing`,
  );
}
const modelBytes = exportIrisModel(classifier);
const extras = await buildIrisExtras(modelBytes);

await mkdir(dirname(iris.modelPath), { recursive: true });
await writeFile(iris.modelPath, modelBytes);
await writeFile(iris.extrasPath, formatExtras(extras));
console.log(
  `iris: training accuracy ${classifier.trainingAccuracy.toFixed(4)}, ` +
    `${modelBytes.length} bytes -> ${iris.modelPath}, extras -> ${iris.extrasPath}`,
);
