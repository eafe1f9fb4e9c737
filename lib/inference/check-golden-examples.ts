import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { GoldenExample, ModelManifest, TensorSpec } from '../registry/ModelManifest.js';
import { decodeTensor } from '../tensor/decode-tensor.js';
import { tensorToNested } from '../tensor/encode-tensor.js';
import { compareGoldenOutputs, MAX_GOLDEN_FAILURES_REPORTED } from './compare-golden-outputs.js';

// Kept importable from here, where it was first defined; it lives with the comparison, which has no onnxruntime import.
export { MAX_GOLDEN_FAILURES_REPORTED };

/** The outcome of running a version's golden examples. */
export interface GoldenCheckResult {
  /** True when every example produced its expected outputs within tolerance. */
  readonly passed: boolean;
  /** Examples run. */
  readonly examples: number;
  /** One line per mismatch or failure, naming the example, output and index. */
  readonly failures: string[];
}

/**
 * Runs a manifest's golden examples on a session and compares outputs: numbers within
 * `tolerance * max(1, |expected|)`, everything else exactly.
 *
 * @example
 * const { passed, failures } = await checkGoldenExamples(session, manifest);
 */
export async function checkGoldenExamples(
  session: InferenceSession,
  manifest: Pick<ModelManifest, 'inputs' | 'outputs' | 'goldenExamples'>,
): Promise<GoldenCheckResult> {
  const examples = manifest.goldenExamples ?? [];
  const failures: string[] = [];
  for (const [index, example] of examples.entries()) {
    try {
      failures.push(...(await checkExample(session, manifest, example, `example ${index + 1}`)));
    } catch (error) {
      failures.push(`example ${index + 1}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return {
    passed: failures.length === 0,
    examples: examples.length,
    failures: failures.slice(0, MAX_GOLDEN_FAILURES_REPORTED),
  };
}

async function checkExample(
  session: InferenceSession,
  manifest: Pick<ModelManifest, 'inputs' | 'outputs'>,
  example: GoldenExample,
  label: string,
): Promise<string[]> {
  const feeds: Record<string, Tensor> = {};
  for (const input of example.inputs) {
    const spec = findSpec(manifest.inputs, input.name, label);
    feeds[input.name] = decodeTensor({ ...input, datatype: input.datatype ?? spec.datatype }, spec);
  }
  const results = await session.run(
    feeds,
    example.outputs.map((output) => output.name),
  );
  for (const expected of example.outputs) findSpec(manifest.outputs, expected.name, label);
  const actual = example.outputs.map((expected) => ({
    name: expected.name,
    data: tensorToNested(results[expected.name] as Tensor),
  }));
  return compareGoldenOutputs(example.outputs, actual, example.tolerance, label);
}

function findSpec(specs: readonly TensorSpec[], name: string, label: string): TensorSpec {
  const spec = specs.find((candidate) => candidate.name === name);
  if (!spec) throw new Error(`${label} names "${name}", which the model does not have`);
  return spec;
}
