/**
 * The Open Inference Protocol extensions sluice serves, by Triton's names, as `GET /v2` lists them. A module of
 * its own, importing nothing, so the CDK app can answer `GET /v2` on API Gateway with the same list. `sluice_object`
 * is sluice's own: tensors sent by reference (see tensor-objects.ts).
 */
export const SERVED_EXTENSIONS = ['binary_tensor_data', 'statistics', 'sluice_object'] as const;

/** One extension name from {@link SERVED_EXTENSIONS}. */
export type ServedExtension = (typeof SERVED_EXTENSIONS)[number];
