/** The predict function's environment as the bench's in-process handler and processes get it. */
import type { ModelManifest } from '../lib/core/manifest/ModelManifest.js';
import type { LocalObjectStore } from '../lib/local/LocalObjectStore.js';
import { lambdaSessionOptions } from '../lib/serving/session-options.js';

/**
 * The variables of a predict function serving `manifest` from `store` (the embedded S3), and the handler's own
 * session options for the references (`BENCH_SESSION_OPTIONS`), so both sides of a row run the same session.
 *
 * @example
 * const env = functionEnv(store, manifest, 'INFO');
 */
export function functionEnv(
  store: Pick<LocalObjectStore, 'bucket' | 'endpoint'>,
  manifest: Pick<ModelManifest, 'name' | 'version' | 'sha256'>,
  logLevel: string,
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    SLUICE_BUCKET: store.bucket,
    SLUICE_MODEL: manifest.name,
    SLUICE_MODEL_VERSION: String(manifest.version),
    SLUICE_MODEL_SHA256: manifest.sha256,
    SLUICE_S3_ENDPOINT: store.endpoint,
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? logLevel,
    BENCH_SESSION_OPTIONS: JSON.stringify(lambdaSessionOptions()),
  };
}
