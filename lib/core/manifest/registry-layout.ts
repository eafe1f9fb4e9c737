/** Key prefix under which every model lives in the registry bucket. */
export const MODELS_PREFIX = 'models/';

/** Object name of the ONNX bytes inside a version folder. */
export const MODEL_OBJECT = 'model.onnx';

/** Object name of the manifest inside a version folder; written last. */
export const MANIFEST_OBJECT = 'manifest.json';

/** Object name of a version's reference input set (JSON lines of `ReferenceItem`), written before the manifest. */
export const REFERENCE_OBJECT = 'reference.jsonl';

/**
 * Object name of a version's retirement (`sluice retire`), beside its manifest: written once, never changed; the
 * rollout engine refuses to deploy a version that has one.
 */
export const RETIRED_OBJECT = 'retired.json';

/** Object name of the claim that reserves a version number before its bytes are uploaded. */
export const CLAIM_OBJECT = '.claim';

/** `models/NAME/` */
export function modelPrefix(name: string): string {
  return `${MODELS_PREFIX}${name}/`;
}

/** `models/NAME/VERSION/FILE` */
export function versionKey(name: string, version: number, file: string): string {
  return `${MODELS_PREFIX}${name}/${version}/${file}`;
}
