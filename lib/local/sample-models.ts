import { fileURLToPath } from 'node:url';

/**
 * The sample models bundled with sluice, published by the local stack on first start.
 *
 * Paths are absolute, resolved from this file, so they work from any working directory.
 * Regenerate the files with `npm run samples`.
 */
export const SAMPLE_MODELS = [
  {
    name: 'iris',
    modelPath: fileURLToPath(new URL('../samples/iris/model.onnx', import.meta.url)),
    extrasPath: fileURLToPath(new URL('../samples/iris/extras.json', import.meta.url)),
  },
] as const;

/** One bundled sample model: its registry name, ONNX file and publish extras (JSON) file. */
export type SampleModel = (typeof SAMPLE_MODELS)[number];
