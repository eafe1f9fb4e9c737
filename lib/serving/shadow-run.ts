import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { ModelManifest } from '../core/manifest/ModelManifest.js';
import { type AnswerComparison, compareAnswers } from '../core/stats/compare-answers.js';
import type { TensorValues } from '../core/tensor/TensorData.js';
import type { InferenceEngine } from './InferenceEngine.js';

/** Which version shadows a request, and how its answers are compared. */
export interface ShadowAssignment {
  /** The candidate version that also answers the request, unseen by the client. */
  readonly candidate: number;
  /** Relative tolerance of numeric outputs. @default DEFAULT_NUMERIC_TOLERANCE */
  readonly numericTolerance?: number;
}

/** What {@link shadowRun} takes: the stable version's run of a request and the candidate to compare with. */
export interface ShadowRunInput {
  readonly engine: Pick<InferenceEngine, 'get'>;
  /** The stable version's manifest: its outputs are what is compared. */
  readonly manifest: ModelManifest;
  /** The request's tensors, as the stable version ran them. */
  readonly feeds: Readonly<Record<string, Tensor>>;
  /** The outputs the stable version computed. */
  readonly fetches: readonly string[];
  readonly stableResults: InferenceSession.OnnxValueMapType;
  readonly shadow: ShadowAssignment;
}

/**
 * Runs a request on the shadow candidate too and compares its answer with the stable version's, row by row: the
 * shadow phase's paired evidence. The client's answer is the stable version's whatever happens here; a candidate
 * that cannot load or fails on the request disagrees on every row (a broken candidate is caught before it serves).
 *
 * @example
 * const comparison = await shadowRun({ engine, manifest, feeds, fetches, stableResults, shadow: { candidate: 2 } });
 */
export async function shadowRun(input: ShadowRunInput): Promise<AnswerComparison> {
  const specs = input.manifest.outputs.filter((spec) => input.fetches.includes(spec.name));
  const stable: Record<string, { type: string; data: TensorValues; dims: readonly number[] }> = {};
  for (const name of input.fetches) stable[name] = input.stableResults[name] as Tensor;
  let candidate: Record<string, Tensor | undefined> = {};
  try {
    const loaded = await input.engine.get(input.manifest.name, input.shadow.candidate);
    const names = new Set(loaded.manifest.outputs.map((spec) => spec.name));
    const fetches = input.fetches.filter((name) => names.has(name));
    const feeds = Object.fromEntries(
      loaded.manifest.inputs.flatMap((spec) => {
        const tensor = input.feeds[spec.name];
        return tensor ? [[spec.name, tensor]] : [];
      }),
    ) as Record<string, Tensor>;
    candidate = (await loaded.session.run(feeds, fetches)) as Record<string, Tensor>;
  } catch {
    // Missing outputs disagree on every row; the candidate's own failure shows in its comparison figures.
    candidate = {};
  }
  return compareAnswers(stable, candidate, specs, input.shadow.numericTolerance);
}
