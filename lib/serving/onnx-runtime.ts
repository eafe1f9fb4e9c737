import { createRequire } from 'node:module';
import type * as Ort from 'onnxruntime-node';
import type { TensorData } from '../core/tensor/TensorData.js';

const requireModule = createRequire(import.meta.url);

let runtime: typeof Ort | undefined;

/**
 * Node 24 (Lambda's runtime) has a global Float16Array, and onnxruntime-common then stores `float16` tensor data in
 * one; but onnxruntime-node 1.30's native binding reads tensor data through N-API, which has no float16 typed-array
 * type, and reads a Float16Array as empty ("not enough space: expected 6, got 0"): every FP16 inference fails.
 * Without the global, onnxruntime-common keeps Uint16Array bit patterns, which the binding reads. So the global is
 * hidden right before onnxruntime is loaded, by the loader below and nowhere else: importing a module never changes
 * a global. Found by running the suite on Node 24.
 */
function hideFloat16Array(): void {
  if ('Float16Array' in globalThis) Reflect.deleteProperty(globalThis, 'Float16Array');
}

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
  if (runtime) return runtime;
  hideFloat16Array();
  runtime = requireModule('onnxruntime-node') as typeof Ort;
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
  hideFloat16Array();
  const loaded: typeof Ort = await import('onnxruntime-node');
  runtime ??= loaded;
  return runtime;
}

/**
 * The onnxruntime tensor of decoded data (the codec builds plain {@link TensorData}; a session takes `Tensor`s).
 * The values are not copied.
 *
 * @example
 * const feeds = { features: toOrtTensor(decodeTensor(input, spec)) };
 */
export function toOrtTensor(tensor: TensorData): Ort.Tensor {
  const Tensor = onnxRuntime().Tensor as new (
    type: TensorData['type'],
    data: TensorData['data'],
    dims: readonly number[],
  ) => Ort.Tensor;
  return new Tensor(tensor.type, tensor.data, tensor.dims);
}
