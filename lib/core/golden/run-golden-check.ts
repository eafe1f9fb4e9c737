import { SluiceError } from '../errors/SluiceError.js';
import type { GoldenExample, ModelManifest } from '../manifest/ModelManifest.js';
import {
  type ActualOutput,
  compareGoldenOutputs,
  MAX_GOLDEN_FAILURES_REPORTED,
} from './compare-golden-outputs.js';

/** The outcome of running a version's golden examples. */
export interface GoldenCheckResult {
  /** True when every example produced its expected outputs within tolerance. */
  readonly passed: boolean;
  /** Examples run. */
  readonly examples: number;
  /** One line per mismatch or failure, naming the example, output and index. */
  readonly failures: string[];
}

/** What a transport got for one golden example: the outputs, and which model version answered when it says. */
export interface GoldenAnswer {
  readonly outputs: readonly ActualOutput[];
  /** The model that answered (a V2 response's `model_name`); absent in-process. */
  readonly model?: string;
  /** The model version that answered (a V2 response's `model_version`); absent in-process. */
  readonly version?: string;
}

/**
 * How golden examples reach the version under test: an in-process session, the local stack over HTTP, or a
 * published Lambda version through Invoke. A transport throws {@link GoldenTransportError} (or any error) when an
 * example got no outputs; the message becomes the example's failure.
 */
export interface GoldenTransport {
  /** Runs one example (`id` names the request in the target's logs). */
  infer(example: GoldenExample, id: string): Promise<GoldenAnswer>;
  /**
   * Checks a version that has no golden examples: one line per problem, none when it is ready.
   * @default no check: a version without examples passes
   */
  ready?(): Promise<string[]>;
}

/** An example got no outputs from the version under test; the message says why. */
export class GoldenTransportError extends SluiceError {}

/** What {@link runGoldenCheck} takes. */
export interface GoldenCheckInput {
  /** The manifest of the version under test: its golden examples. */
  readonly manifest: Pick<ModelManifest, 'goldenExamples'>;
  /** How the examples reach it. */
  readonly transport: GoldenTransport;
  /**
   * The model and version that must answer, when the transport reports who answered.
   * @default not checked
   */
  readonly expected?: { readonly model: string; readonly version: number };
  /**
   * Request ids are `<idPrefix>-<n>`.
   * @default 'sluice-golden'
   */
  readonly idPrefix?: string;
}

/**
 * The release check, one function for every transport: runs each golden example of the manifest through the
 * transport and compares the outputs (numbers within `tolerance * max(1, |expected|)`, everything else exactly),
 * or, without examples, asks the transport whether the version is ready. At most
 * {@link MAX_GOLDEN_FAILURES_REPORTED} failures are reported.
 *
 * @example
 * const result = await runGoldenCheck({ manifest, transport, expected: { model: 'iris', version: 2 } });
 * if (!result.passed) console.log(result.failures.join('\n'));
 */
export async function runGoldenCheck(input: GoldenCheckInput): Promise<GoldenCheckResult> {
  const examples = input.manifest.goldenExamples ?? [];
  const prefix = input.idPrefix ?? 'sluice-golden';
  if (examples.length === 0) {
    const failures = (await input.transport.ready?.()) ?? [];
    return {
      passed: failures.length === 0,
      examples: 0,
      failures: failures.slice(0, MAX_GOLDEN_FAILURES_REPORTED),
    };
  }
  const failures: string[] = [];
  for (const [index, example] of examples.entries()) {
    const label = `example ${index + 1}`;
    try {
      const answer = await input.transport.infer(example, `${prefix}-${index + 1}`);
      const elsewhere = servedElsewhere(label, input.expected, answer);
      if (elsewhere !== undefined) {
        failures.push(elsewhere);
        continue;
      }
      failures.push(...compareGoldenOutputs(example.outputs, answer.outputs, example.tolerance, label));
    } catch (error) {
      failures.push(`${label}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return {
    passed: failures.length === 0,
    examples: examples.length,
    failures: failures.slice(0, MAX_GOLDEN_FAILURES_REPORTED),
  };
}

function servedElsewhere(
  label: string,
  expected: GoldenCheckInput['expected'],
  answer: GoldenAnswer,
): string | undefined {
  if (expected === undefined || (answer.model === undefined && answer.version === undefined))
    return undefined;
  if (answer.model === expected.model && answer.version === String(expected.version)) return undefined;
  return `${label}: served model "${answer.model}" version ${answer.version}, expected "${expected.model}" version ${expected.version}`;
}
