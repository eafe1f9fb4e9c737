import type { RequestTensor } from '../../core/contract/infer-request.js';
import { objectKey } from '../../core/contract/tensor-objects.js';
import { InvalidRequestError } from '../../core/errors/request-errors.js';
import { decodeBinaryTensor } from '../../core/tensor/binary-tensor.js';
import { decodeTensor } from '../../core/tensor/decode-tensor.js';
import { referencedTensor } from '../../core/tensor/referenced-tensor.js';
import { checkSharedDimensions } from '../../core/tensor/shared-dimensions.js';
import type { TensorData } from '../../core/tensor/TensorData.js';
import type { TensorSpec } from '../../core/tensor/TensorSpec.js';

/** What request values are decoded against: the model's name (for messages) and its inputs. */
export interface FeedModel {
  readonly name: string;
  readonly inputs: readonly TensorSpec[];
}

/** One input of a V2 request: its JSON description, and its bytes when it came as binary data. */
export interface ProvidedInput {
  readonly tensor: RequestTensor;
  readonly bytes: Uint8Array | undefined;
}

/**
 * Pairs each V2 input with its binary data: inputs with `parameters.binary_data_size` take that many bytes, in
 * order, from the data after the JSON header, which must be used up exactly. Refuses duplicate inputs.
 */
export function splitBinaryInputs(
  inputs: readonly RequestTensor[],
  binary: Uint8Array | undefined,
): Map<string, ProvidedInput> {
  const provided = new Map<string, ProvidedInput>();
  let offset = 0;
  for (const tensor of inputs) {
    if (provided.has(tensor.name))
      throw new InvalidRequestError(`input "${tensor.name}" is given more than once`);
    const size = tensor.parameters?.binary_data_size;
    if (size === undefined) {
      provided.set(tensor.name, { tensor, bytes: undefined });
      continue;
    }
    if (tensor.data !== undefined) {
      throw new InvalidRequestError(
        `input "${tensor.name}" has both "data" and parameters.binary_data_size; send its values one way`,
      );
    }
    if (binary === undefined) {
      throw new InvalidRequestError(
        `input "${tensor.name}" has parameters.binary_data_size but the request has no binary data: set the Inference-Header-Content-Length header to the JSON header's byte length and append the data`,
      );
    }
    if (offset + size > binary.byteLength) {
      throw new InvalidRequestError(
        `input "${tensor.name}": binary_data_size is ${size}, but only ${binary.byteLength - offset} bytes of binary data are left after the JSON header`,
      );
    }
    provided.set(tensor.name, { tensor, bytes: binary.subarray(offset, offset + size) });
    offset += size;
  }
  if (binary !== undefined && offset !== binary.byteLength) {
    throw new InvalidRequestError(
      `the body has ${binary.byteLength} bytes of binary data after the JSON header, but the inputs' binary_data_size add up to ${offset}`,
    );
  }
  return provided;
}

/**
 * Decodes one V2 input however it came: JSON `data`, binary data, or by reference (`parameters.sluice_object`),
 * whose tensor is made empty here, of the right type and size, and filled from its object later (see
 * `ObjectTransfers.readInputs`): decoding stays synchronous and free of I/O, on a worker thread too.
 */
export function decodeProvidedInput(
  { tensor, bytes }: ProvidedInput,
  spec: TensorSpec,
  model: FeedModel,
): TensorData {
  if (tensor.parameters?.sluice_object === undefined) {
    return bytes === undefined ? decodeTensor(tensor, spec) : decodeBinaryTensor(tensor, bytes, spec);
  }
  if (tensor.data !== undefined || tensor.parameters.binary_data_size !== undefined) {
    throw new InvalidRequestError(
      `input "${tensor.name}" has parameters.sluice_object and also ${tensor.data === undefined ? 'parameters.binary_data_size' : '"data"'}; send its values one way`,
    );
  }
  // The reference is checked before the tensor's buffer is made for it: a malformed one, or one of another model,
  // costs no allocation of the size the request claims (up to MAX_OBJECT_TENSOR_BYTES).
  objectKey(model.name, tensor.parameters.sluice_object, `input "${tensor.name}": the object`);
  return referencedTensor(tensor, spec);
}

/** Builds the feeds from named request values, refusing missing, unknown and misnamed inputs. */
export function collectFeeds<T>(
  model: FeedModel,
  provided: Map<string, T>,
  decode: (value: T, spec: TensorSpec, model: FeedModel) => TensorData,
): Record<string, TensorData> {
  const expected = model.inputs.map((spec) => spec.name);
  for (const name of provided.keys()) {
    if (!expected.includes(name)) {
      throw new InvalidRequestError(
        `unknown input "${name}"; model "${model.name}" takes ${quoteList(expected)}`,
      );
    }
  }
  const feeds = newFeeds<TensorData>();
  for (const spec of model.inputs) {
    const value = provided.get(spec.name);
    if (value === undefined) {
      throw new InvalidRequestError(
        `missing input "${spec.name}"; model "${model.name}" takes ${quoteList(expected)}`,
      );
    }
    feeds[spec.name] = decode(value, spec, model);
  }
  checkSharedDimensions(model.inputs, (name) => feeds[name]?.dims);
  return feeds;
}

/** An empty feeds object without a prototype, so that inputs named `__proto__` or `constructor` are plain keys. */
export function newFeeds<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** Names as a message lists them: `"a", "b"`. */
export function quoteList(names: readonly string[]): string {
  return names.map((name) => `"${name}"`).join(', ');
}
