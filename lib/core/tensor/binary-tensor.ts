import { InvalidRequestError } from '../errors/request-errors.js';
import type { TensorDatatype } from './datatypes.js';
import { bytesElementProblem, checkInputShape } from './decode-tensor.js';
import { outputDatatype } from './encode-tensor.js';
import { type OutputTensor, type TensorData, type TensorValues, tensorOf } from './TensorData.js';
import type { TensorSpec } from './TensorSpec.js';

/**
 * Bytes per element of each fixed-size datatype in the binary tensor extension (BOOL is one byte, 0 or 1).
 * BYTES has no fixed size: each element is a 4-byte little-endian length followed by that many bytes.
 */
export const BINARY_ELEMENT_BYTES = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
} as const satisfies Record<Exclude<TensorDatatype, 'BYTES'>, number>;

/** Size of the little-endian length that precedes each BYTES element. */
export const BYTES_LENGTH_PREFIX_BYTES = 4;

/** Strict UTF-8: a BYTES element that is not valid UTF-8 cannot become an onnxruntime string unaltered. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** What a binary input carries besides its bytes: the request's name, datatype and shape, still unchecked. */
export interface BinaryTensorHeader {
  readonly name: string;
  readonly datatype: string;
  readonly shape: unknown;
}

/**
 * Builds the onnxruntime tensor of one input sent as binary data (Open Inference Protocol binary tensor extension).
 *
 * Datatype and shape are checked against the model as for JSON data; the bytes must be exactly the shape's
 * element count times the element size (little-endian, row-major), BOOL bytes 0 or 1, and BYTES elements
 * length-prefixed, valid UTF-8 without NUL (onnxruntime-node's strings are NUL-terminated UTF-8). Floats are
 * taken bit for bit, NaN and infinities included. Every failure is a {@link InvalidRequestError} naming the input.
 * A fixed-size tensor views `bytes` in place when they sit aligned for its type (the caller hands them over: nothing
 * may write to them afterwards), and copies them otherwise.
 *
 * @example
 * decodeBinaryTensor({ name: 'x', datatype: 'FP32', shape: [1, 2] }, new Uint8Array(new Float32Array([0.5, 1]).buffer), spec);
 */
export function decodeBinaryTensor(
  header: BinaryTensorHeader,
  bytes: Uint8Array,
  spec: TensorSpec,
): TensorData {
  const name = header.name;
  if (header.datatype !== spec.datatype) {
    throw bad(name, `datatype is ${JSON.stringify(header.datatype)}, expected ${spec.datatype}`);
  }
  const { dims, count } = checkInputShape(name, header.shape, spec);
  if (spec.datatype === 'BYTES') return tensorOf('string', decodeStrings(name, bytes, count), dims);
  const size = BINARY_ELEMENT_BYTES[spec.datatype];
  if (bytes.byteLength !== count * size) {
    throw bad(
      name,
      `binary data is ${bytes.byteLength} bytes; shape [${dims.join(',')}] of ${spec.datatype} needs ${count * size} (${count} x ${size})`,
    );
  }
  const tensor = tensorOverBytes(spec.datatype, bytes, dims);
  if (tensor.type === 'bool') {
    const values = tensor.data as Uint8Array;
    const wrong = values.findIndex((value) => value > 1);
    if (wrong >= 0) throw bad(name, `binary BOOL byte ${wrong} is ${values[wrong]}; BOOL bytes are 0 or 1`);
  }
  return tensor;
}

/**
 * A tensor over a request's bytes: a view of them where they sit at an offset aligned for the datatype's typed array
 * (as {@link alignedBodyBuffer} places them), else a copy into a buffer of its own. A body's buffer is the request's
 * own (the emulator's, the base64 decode of an API Gateway body), and no tensor decoded from binary data is written
 * to (only inputs sent by reference are filled, into buffers of their own), so the view is safe; it saves a copy of
 * the whole tensor and the garbage a 4.9 MB copy makes (the conv net over HTTP, issue 18). Under
 * {@link smallestViewedTensor} the bytes are copied even when aligned: a small body may be a slice of Node's shared
 * pool, whose other bytes are not the request's.
 */
function tensorOverBytes(
  datatype: Exclude<TensorDatatype, 'BYTES'>,
  bytes: Uint8Array,
  dims: readonly number[],
): TensorData {
  const size = BINARY_ELEMENT_BYTES[datatype];
  if (
    bytes.byteLength >= smallestViewedTensor() &&
    bytes.byteOffset % size === 0 &&
    bytes.buffer instanceof ArrayBuffer
  )
    return tensorOverBuffer(datatype, bytes.buffer, dims, bytes.byteOffset, bytes.byteLength / size);
  // Not Buffer#slice: that one shares memory, at the same unaligned offset.
  return tensorOverBuffer(datatype, new Uint8Array(bytes).buffer, dims);
}

/**
 * The smallest tensor viewed in its body, in bytes: Node takes allocations from its shared pool "only when size is
 * less than `Buffer.poolSize >>> 1`" (https://nodejs.org/api/buffer.html#static-method-bufferallocunsafesize), so a
 * body that holds a tensor at least that large is never a slice of it (32 KiB on Node 24, whose pool is 64 KiB). Copying a
 * tensor that small costs microseconds.
 */
function smallestViewedTensor(): number {
  return Buffer.poolSize >>> 1;
}

/**
 * A buffer of `length` bytes, uninitialised, for a body whose binary data starts at `binaryOffset` (its JSON
 * header's length, 0 for a raw binary body): its own memory (never a slice of Node's shared pool), placed so that
 * byte `binaryOffset` is 8-byte aligned, so every fixed-size tensor of the data can be viewed in place (see
 * `decodeBinaryTensor`) when the inputs before it keep the alignment their types need.
 *
 * @example
 * const body = alignedBodyBuffer(1_000, 37);
 * (body.byteOffset + 37) % 8; // 0
 */
export function alignedBodyBuffer(length: number, binaryOffset: number): Buffer {
  const pad = (BODY_ALIGNMENT - (binaryOffset % BODY_ALIGNMENT)) % BODY_ALIGNMENT;
  // Not zero-filled: the body's bytes are written over it, and only what was written is read.
  return Buffer.allocUnsafeSlow(pad + length).subarray(pad);
}

/** The alignment {@link alignedBodyBuffer} gives binary data: that of the widest element (FP64, INT64, UINT64). */
const BODY_ALIGNMENT = 8;

/**
 * A tensor of a fixed-size datatype over `buffer` as it is (no copy): the typed array onnxruntime-node takes for
 * it, FP16 as half-precision bit patterns, BOOL as bytes (not checked here). The part viewed, `length` elements from
 * `byteOffset` (aligned for the datatype; by default the rest of the buffer, which must then be a whole number of
 * elements, or the typed array's constructor throws), must be exactly the elements `dims` has.
 *
 * @example
 * tensorOverBuffer('FP32', new ArrayBuffer(8), [2]).data; // Float32Array [0, 0]
 */
export function tensorOverBuffer(
  datatype: Exclude<TensorDatatype, 'BYTES'>,
  buffer: ArrayBuffer,
  dims: readonly number[],
  byteOffset = 0,
  length?: number,
): TensorData {
  switch (datatype) {
    case 'FP32':
      return tensorOf('float32', new Float32Array(buffer, byteOffset, length), dims);
    case 'FP64':
      return tensorOf('float64', new Float64Array(buffer, byteOffset, length), dims);
    case 'FP16':
      return tensorOf('float16', new Uint16Array(buffer, byteOffset, length), dims);
    case 'INT8':
      return tensorOf('int8', new Int8Array(buffer, byteOffset, length), dims);
    case 'INT16':
      return tensorOf('int16', new Int16Array(buffer, byteOffset, length), dims);
    case 'INT32':
      return tensorOf('int32', new Int32Array(buffer, byteOffset, length), dims);
    case 'INT64':
      return tensorOf('int64', new BigInt64Array(buffer, byteOffset, length), dims);
    case 'UINT8':
      return tensorOf('uint8', new Uint8Array(buffer, byteOffset, length), dims);
    case 'UINT16':
      return tensorOf('uint16', new Uint16Array(buffer, byteOffset, length), dims);
    case 'UINT32':
      return tensorOf('uint32', new Uint32Array(buffer, byteOffset, length), dims);
    case 'UINT64':
      return tensorOf('uint64', new BigUint64Array(buffer, byteOffset, length), dims);
    case 'BOOL':
      return tensorOf('bool', new Uint8Array(buffer, byteOffset, length), dims);
  }
}

/**
 * The binary form of an output tensor: its elements little-endian and row-major, BOOL as 0/1 bytes, BYTES
 * length-prefixed UTF-8. Numeric data is returned as a view of the tensor's own buffer, not copied.
 *
 * @example
 * encodeBinaryTensor(tensorOf('float32', new Float32Array([1]), [1])); // Uint8Array [0, 0, 128, 63]
 */
export function encodeBinaryTensor(tensor: OutputTensor): Uint8Array {
  const datatype = outputDatatype(tensor);
  const data = tensor.data;
  if (datatype === 'BYTES') return encodeStrings(data as readonly string[]);
  if (datatype === 'BOOL' && !(data instanceof Uint8Array)) {
    return Uint8Array.from(data as unknown as ArrayLike<number | boolean>, (value) => (value ? 1 : 0));
  }
  const view = data as Exclude<TensorValues, string[]>;
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** Size in bytes of an output's binary form, without writing it (to check the response limit first). */
export function binaryTensorSize(tensor: OutputTensor): number {
  if (tensor.type !== 'string') return (tensor.data as ArrayBufferView).byteLength;
  let total = 0;
  for (const value of tensor.data as readonly string[])
    total += BYTES_LENGTH_PREFIX_BYTES + Buffer.byteLength(value, 'utf8');
  return total;
}

/**
 * The shape of a raw binary body (the whole body is the model's only input): the spec's shape with its one
 * dynamic dimension, if any, worked out from the byte size. A spec with several dynamic dimensions cannot be
 * inferred and is refused with a 400 that says to send the JSON header.
 *
 * @example
 * rawBinaryShape({ name: 'x', datatype: 'FP32', shape: [-1, 4] }, new Uint8Array(32)); // [2, 4]
 */
export function rawBinaryShape(spec: TensorSpec, bytes: Uint8Array): number[] {
  const dynamic = spec.shape.filter((dim) => dim === -1).length;
  if (dynamic > 1) {
    throw bad(
      spec.name,
      `a raw binary body cannot say the shape of an input with ${dynamic} dynamic dimensions (model shape [${spec.shape.join(',')}]); send a JSON header with "shape" and "binary_data_size" (Inference-Header-Content-Length)`,
    );
  }
  if (dynamic === 0) return [...spec.shape];
  let fixed = 1;
  for (const dim of spec.shape) if (dim !== -1) fixed *= dim;
  const elements =
    spec.datatype === 'BYTES' ? countStrings(bytes) : bytes.byteLength / BINARY_ELEMENT_BYTES[spec.datatype];
  const free = fixed === 0 ? 0 : elements / fixed;
  if (!Number.isInteger(free)) {
    throw bad(
      spec.name,
      `a raw binary body of ${bytes.byteLength} bytes is not a whole number of rows of model shape [${spec.shape.join(',')}] ${spec.datatype}`,
    );
  }
  return spec.shape.map((dim) => (dim === -1 ? free : dim));
}

/** Counts the length-prefixed elements of BYTES data (stopping at a prefix that runs past the end). */
function countStrings(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let count = 0;
  let offset = 0;
  while (offset + BYTES_LENGTH_PREFIX_BYTES <= bytes.byteLength) {
    offset += BYTES_LENGTH_PREFIX_BYTES + view.getUint32(offset, true);
    count++;
  }
  return count;
}

function decodeStrings(name: string, bytes: Uint8Array, count: number): string[] {
  const values: string[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset < bytes.byteLength) {
    const index = values.length;
    if (index === count) {
      throw bad(name, `binary BYTES data has bytes after its ${count} elements (at byte ${offset})`);
    }
    if (offset + BYTES_LENGTH_PREFIX_BYTES > bytes.byteLength) {
      throw bad(name, `binary BYTES element ${index} is cut short: its 4-byte length prefix is incomplete`);
    }
    const length = view.getUint32(offset, true);
    offset += BYTES_LENGTH_PREFIX_BYTES;
    if (offset + length > bytes.byteLength) {
      throw bad(
        name,
        `binary BYTES element ${index} says ${length} bytes, only ${bytes.byteLength - offset} remain`,
      );
    }
    let text: string;
    try {
      text = UTF8.decode(bytes.subarray(offset, offset + length));
    } catch {
      throw bad(
        name,
        `binary BYTES element ${index} is not valid UTF-8; onnxruntime-node carries BYTES as text, so arbitrary bytes cannot round-trip`,
      );
    }
    const problem = bytesElementProblem(text);
    if (problem !== undefined) throw bad(name, `binary BYTES element ${index} ${problem}`);
    values.push(text);
    offset += length;
  }
  if (values.length !== count) {
    throw bad(name, `binary BYTES data has ${values.length} elements, the shape needs ${count}`);
  }
  return values;
}

function encodeStrings(values: readonly string[]): Uint8Array {
  const encoded = values.map((value) => Buffer.from(value, 'utf8'));
  let total = 0;
  for (const item of encoded) total += BYTES_LENGTH_PREFIX_BYTES + item.byteLength;
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const item of encoded) {
    out.writeUInt32LE(item.byteLength, offset);
    offset += BYTES_LENGTH_PREFIX_BYTES;
    out.set(item, offset);
    offset += item.byteLength;
  }
  return out;
}

function bad(name: string, problem: string): InvalidRequestError {
  return new InvalidRequestError(`input "${name}": ${problem}`);
}
