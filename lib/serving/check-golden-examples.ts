import type { InferenceSession } from 'onnxruntime-node';
import { type GoldenCheckResult, runGoldenCheck } from '../core/golden/run-golden-check.js';
import type { ModelManifest } from '../core/manifest/ModelManifest.js';
import { sessionGoldenTransport } from './session-golden-transport.js';

/**
 * Runs a manifest's golden examples on an in-process session: {@link runGoldenCheck} with the session transport.
 *
 * @example
 * const { passed, failures } = await checkGoldenExamples(session, manifest);
 */
export async function checkGoldenExamples(
  session: InferenceSession,
  manifest: Pick<ModelManifest, 'inputs' | 'outputs' | 'goldenExamples'>,
): Promise<GoldenCheckResult> {
  return runGoldenCheck({ manifest, transport: sessionGoldenTransport(session, manifest) });
}
