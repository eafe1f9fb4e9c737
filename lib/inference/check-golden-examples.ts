import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { GoldenExample, ModelManifest, TensorSpec } from '../registry/ModelManifest.js';
import { decodeTensor } from '../tensor/decode-tensor.js';
import { tensorToNested } from '../tensor/encode-tensor.js';

/** The outcome of running a version's golden examples. */
export interface GoldenCheckResult {
  /** True when every example produced its expected outputs within tolerance. */
  readonly passed: boolean;
  /** Examples run. */
  readonly examples: number;
  /** One line per mismatch or failure, naming the example, output and index. */
  readonly failures: string[];
}

/** Most mismatches listed per check, so a badly broken model gives a readable report. */
export const MAX_GOLDEN_FAILURES_REPORTED = 10;

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
  return { passed: failures.length === 0, examples: examples.length, failures: failures.slice(0, MAX_GOLDEN_FAILURES_REPORTED) };
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
  const results = await session.run(feeds, example.outputs.map((output) => output.name));
  const failures: string[] = [];
  for (const expected of example.outputs) {
    findSpec(manifest.outputs, expected.name, label);
    const actual = flatten(tensorToNested(results[expected.name] as Tensor));
    const wanted = flatten(expected.data);
    if (actual.length !== wanted.length) {
      failures.push(`${label}, output "${expected.name}": expected ${wanted.length} values, got ${actual.length}`);
      continue;
    }
    for (let at = 0; at < wanted.length; at++) {
      if (!matches(actual[at], wanted[at], example.tolerance)) {
        failures.push(`${label}, output "${expected.name}"[${at}]: expected ${String(wanted[at])}, got ${String(actual[at])}`);
        break;
      }
    }
  }
  return failures;
}

function findSpec(specs: readonly TensorSpec[], name: string, label: string): TensorSpec {
  const spec = specs.find((candidate) => candidate.name === name);
  if (!spec) throw new Error(`${label} names "${name}", which the model does not have`);
  return spec;
}

function flatten(value: unknown): unknown[] {
  return Array.isArray(value) ? value.flat(Number.POSITIVE_INFINITY) : [value];
}

function matches(actual: unknown, expected: unknown, tolerance: number): boolean {
  if (typeof actual === 'bigint' || typeof expected === 'bigint' || typeof expected === 'string') {
    return String(actual) === String(expected);
  }
  if (typeof actual === 'number' && typeof expected === 'number') {
    if (Number.isNaN(expected)) return Number.isNaN(actual);
    return Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected));
  }
  return actual === expected;
}
