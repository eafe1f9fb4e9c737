import type { FunctionConfiguration } from '@aws-sdk/client-lambda';

/** `Version` of the unpublished configuration; never routed to. */
const LATEST = '$LATEST';

/**
 * The description `sluice deploy` gives a Lambda version it publishes: `sluice <model> v<version>`. The CDK's
 * versions inherit the function's description, `sluice <model> v<version> sha256:<prefix>`, which reads the same.
 *
 * @example
 * publishedVersionDescription('iris', 4); // 'sluice iris v4'
 */
export function publishedVersionDescription(model: string, version: number): string {
  return `sluice ${model} v${version}`;
}

/**
 * The description of a shadow build: `sluice <model> shadow v<stable> v<candidate>`, which no model version's
 * description prefix matches.
 *
 * @example
 * shadowBuildDescription('iris', 3, 4); // 'sluice iris shadow v3 v4'
 */
export function shadowBuildDescription(model: string, stable: number, candidate: number): string {
  return `sluice ${model} shadow v${stable} v${candidate}`;
}

/**
 * Whether a published Lambda version serves a model version. Its environment decides when it has one (the
 * function loads what SLUICE_MODEL / SLUICE_MODEL_VERSION name, and refuses bytes other than
 * SLUICE_MODEL_SHA256); the description decides only when the listing carries no environment. A shadow build
 * (SLUICE_SHADOW_VERSION set) answers with a model version but is no build of it: it also runs a candidate.
 *
 * @example
 * servesModelVersion(config, 'iris', 4, manifest.sha256);
 */
export function servesModelVersion(
  config: FunctionConfiguration,
  model: string,
  version: number,
  sha256?: string,
): boolean {
  if (config.Version === undefined || config.Version === LATEST) return false;
  const variables = config.Environment?.Variables;
  if (variables?.SLUICE_SHADOW_VERSION !== undefined) return false;
  if (variables?.SLUICE_MODEL_VERSION !== undefined) {
    const pinned = variables.SLUICE_MODEL_SHA256;
    return (
      variables.SLUICE_MODEL === model &&
      variables.SLUICE_MODEL_VERSION === String(version) &&
      (sha256 === undefined || pinned === undefined || pinned === sha256)
    );
  }
  const description = publishedVersionDescription(model, version);
  return config.Description === description || (config.Description ?? '').startsWith(`${description} `);
}

/**
 * The newest published Lambda version (highest number) that serves a model version, or `undefined`.
 * Lambda versions are immutable, so once found, the answer holds for as long as the version exists.
 *
 * @example
 * const found = findPublishedVersion(versions, 'iris', 4)?.Version; // '7'
 */
export function findPublishedVersion(
  versions: readonly FunctionConfiguration[],
  model: string,
  version: number,
  sha256?: string,
): FunctionConfiguration | undefined {
  let newest: FunctionConfiguration | undefined;
  for (const config of versions) {
    if (!servesModelVersion(config, model, version, sha256)) continue;
    if (newest === undefined || Number(config.Version) > Number(newest.Version)) newest = config;
  }
  return newest;
}
