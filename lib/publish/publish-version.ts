import { readFile } from 'node:fs/promises';
import type { ModelManifest } from '../core/manifest/ModelManifest.js';
import type { ModelRegistry, PublishInput } from '../storage/ModelRegistry.js';
import { readModelSignature } from './read-model-signature.js';

/** What {@link publishVersion} takes: a registry publish, with the model's bytes or the path of its file. */
export interface PublishVersionInput extends Omit<PublishInput, 'bytes' | 'signature'> {
  /** The ONNX bytes, or the path of an ONNX file. */
  readonly model: Uint8Array | string;
}

/**
 * Publishes an ONNX model as the next version of a model: reads its signature from the graph (a file that is not
 * an ONNX model throws `InvalidModelError`) and hands both to the registry. The quick path for the local stack's
 * samples, tests and tools; `sluice publish` goes through `publishModel`, which also loads the model in
 * onnxruntime and runs its golden examples first.
 *
 * @example
 * const manifest = await publishVersion(registry, { name: 'iris', model: 'iris.onnx' });
 */
export async function publishVersion(
  registry: ModelRegistry,
  input: PublishVersionInput,
): Promise<ModelManifest> {
  const { model, ...rest } = input;
  const bytes = typeof model === 'string' ? await readFile(model) : model;
  return registry.publish({ ...rest, bytes, signature: readModelSignature(bytes) });
}
