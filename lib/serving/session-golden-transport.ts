import type { InferenceSession, Tensor } from 'onnxruntime-node';
import {
  type GoldenAnswer,
  type GoldenTransport,
  GoldenTransportError,
} from '../core/golden/run-golden-check.js';
import type { GoldenExample, ModelManifest } from '../core/manifest/ModelManifest.js';
import { decodeTensor } from '../core/tensor/decode-tensor.js';
import { outputDatatype, tensorToNested } from '../core/tensor/encode-tensor.js';
import type { TensorSpec } from '../core/tensor/TensorSpec.js';
import { toOrtTensor } from './onnx-runtime.js';

/**
 * The golden-example transport of an in-process session (`sluice publish` checks a model before uploading it):
 * each example's inputs decoded against the model's signature and run on the session.
 *
 * @example
 * await runGoldenCheck({ manifest, transport: sessionGoldenTransport(session, manifest) });
 */
export function sessionGoldenTransport(
  session: InferenceSession,
  manifest: Pick<ModelManifest, 'inputs' | 'outputs'>,
): GoldenTransport {
  return {
    async infer(example: GoldenExample): Promise<GoldenAnswer> {
      const feeds: Record<string, Tensor> = {};
      for (const input of example.inputs) {
        const spec = findSpec(manifest.inputs, input.name);
        feeds[input.name] = toOrtTensor(
          decodeTensor({ ...input, datatype: input.datatype ?? spec.datatype }, spec),
        );
      }
      for (const expected of example.outputs) findSpec(manifest.outputs, expected.name);
      const results = await session.run(
        feeds,
        example.outputs.map((output) => output.name),
      );
      return {
        outputs: example.outputs.map((expected) => ({
          name: expected.name,
          data: tensorToNested(results[expected.name] as Tensor),
          datatype: outputDatatype(results[expected.name] as Tensor),
        })),
      };
    },
  };
}

function findSpec(specs: readonly TensorSpec[], name: string): TensorSpec {
  const spec = specs.find((candidate) => candidate.name === name);
  if (!spec) throw new GoldenTransportError(`names "${name}", which the model does not have`);
  return spec;
}
