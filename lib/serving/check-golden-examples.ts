import type { InferenceSession } from 'onnxruntime-node';
import { MAX_GOLDEN_FAILURES_REPORTED } from '../core/golden/compare-golden-outputs.js';
import { type GoldenCheckResult, runGoldenCheck } from '../core/golden/run-golden-check.js';
import type { ModelManifest } from '../core/manifest/ModelManifest.js';
import { sessionGoldenTransport } from './session-golden-transport.js';

// Kept importable from here, where they were first defined: the check itself lives in run-golden-check.ts,
// which has no onnxruntime import, so the control plane's functions can run it without the runtime.
export { type GoldenCheckResult, MAX_GOLDEN_FAILURES_REPORTED };

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
