import { createRequire } from 'node:module';
import type * as Ort from 'onnxruntime-node';

const requireModule = createRequire(import.meta.url);

let runtime: typeof Ort | undefined;

/**
 * onnxruntime-node, loaded on first use rather than when the function's code is imported.
 *
 * Loading it maps its native library, 50-250 ms of a cold start; deferring it lets a cold start send its model
 * requests first and load the runtime while the bytes arrive (see {@link preloadOnnxRuntime}). Synchronous, so code
 * that builds tensors can call it where it needs the runtime; it is the same module object an `import` returns.
 *
 * @example
 * const tensor = new (onnxRuntime().Tensor)('float32', new Float32Array(4), [1, 4]);
 */
export function onnxRuntime(): typeof Ort {
  runtime ??= requireModule('onnxruntime-node') as typeof Ort;
  return runtime;
}

/**
 * Loads onnxruntime-node on a later turn of the event loop, after the I/O already started has gone out.
 *
 * A dynamic `import()` of the package itself, so bundlers still see it as an external dependency of the function.
 *
 * @example
 * const [fetched] = await Promise.all([registry.fetchModel(model, version), preloadOnnxRuntime()]);
 */
export async function preloadOnnxRuntime(): Promise<typeof Ort> {
  if (runtime) return runtime;
  await new Promise((resolve) => setImmediate(resolve));
  const loaded: typeof Ort = await import('onnxruntime-node');
  runtime ??= loaded;
  return runtime;
}
