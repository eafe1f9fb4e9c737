import { DATATYPE_BY_ORT_TYPE, type OrtTensorType, type TensorDatatype } from './datatypes.js';
import { encodeFloat16Json, encodeFloat32Json } from './float32-text.js';
import { type ScratchKind, scratchArray } from './private/scratch-arrays.js';
import type { OutputTensor, TensorValues } from './TensorData.js';

/** Deepest nesting stringifyJson writes; it only serialises response values, so hitting it means a cycle. */
const MAX_STRINGIFY_DEPTH = 256;

/** Smallest and largest int64 that a JS number holds exactly. */
const MIN_SAFE_BIGINT = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);

/** The numeric typed arrays whose elements are JS numbers. */
type NumberArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array;

/**
 * Writes one output tensor as the JSON text of a V2 response tensor: `{"name","datatype","shape","data"}`.
 *
 * `data` is flat and row-major. FP32 and FP16 values are written in their shortest text that reads back as
 * the same float32 (half) through `Math.fround(JSON.parse(text))`, -0 as `-0` (see float32-text.ts); FP64 and
 * the integers as JSON.stringify writes them. INT64/UINT64 are written as exact integer literals (clients that
 * need them beyond 2^53 must parse them as such), BOOL as true/false and BYTES as JSON strings. JSON has no NaN
 * or Infinity, so non-finite floats are written as `null` (as JSON.stringify does); the invalid-output metric
 * counts them.
 *
 * Everything but the name and BYTES data is ASCII, so for an ASCII name and a non-BYTES tensor the text's length
 * is its UTF-8 size.
 *
 * @example
 * encodeTensorJson('y', tensorOf('float32', new Float32Array([0.5, 2]), [1, 2]));
 * // '{"name":"y","datatype":"FP32","shape":[1,2],"data":[0.5,2]}'
 */
export function encodeTensorJson(name: string, tensor: OutputTensor): string {
  const datatype = outputDatatype(tensor);
  return `{"name":${JSON.stringify(name)},"datatype":"${datatype}","shape":${JSON.stringify(tensor.dims)},"data":${encodeData(datatype, tensor.data)}}`;
}

/**
 * Returns a tensor's values nested by its dims, as JSON-safe JS values, for the simple predict form.
 *
 * Numbers stay numbers (non-finite floats become `null`); FP32 and FP16 values are the numbers their shortest texts
 * denote, exactly what a reader of the V2 JSON answer gets, so both forms and every golden-check transport see the
 * same values (JSON.stringify writes them back as those texts). INT64/UINT64 values are numbers
 * where they are safe integers and bigints beyond (write them with {@link stringifyJson}); BOOL is boolean and
 * BYTES is string. A rank-0 tensor yields its single value, any other an array nested `dims.length` deep.
 *
 * @example
 * tensorToNested(tensorOf('int64', new BigInt64Array([1n, 2n]), [2, 1])); // [[1], [2]]
 */
export function tensorToNested(tensor: OutputTensor): unknown {
  const values = flatValues(outputDatatype(tensor), tensor.data);
  const dims = tensor.dims;
  if (dims.length === 0) return values[0];
  // Group the flat values innermost axis first; each pass nests one more level.
  let level: unknown[] = values;
  for (let axis = dims.length - 1; axis >= 1; axis--) {
    const size = dims[axis] as number;
    let groups = 1;
    for (let outer = 0; outer < axis; outer++) groups *= dims[outer] as number;
    const next: unknown[] = new Array(groups);
    for (let group = 0; group < groups; group++) next[group] = level.slice(group * size, (group + 1) * size);
    level = next;
  }
  return level;
}

/**
 * Serialises plain objects and arrays like JSON.stringify, but writes bigints as exact integer literals.
 *
 * Values without bigints take JSON.stringify itself; only when it refuses a bigint does a hand-written
 * writer with JSON.stringify's rules (undefined and functions skipped in objects, null in arrays,
 * non-finite numbers as null, `toJSON` honoured) take over.
 *
 * @example
 * stringifyJson({ id: 9223372036854775807n }); // '{"id":9223372036854775807}'
 */
export function stringifyJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
  return writeJson(value, 0) ?? 'null';
}

/**
 * The V2 datatype of an output tensor; an output type sluice cannot write is a fault of the model, not the request.
 *
 * @example
 * outputDatatype(tensorOf('float32', new Float32Array(1), [1])); // 'FP32'
 */
export function outputDatatype(tensor: OutputTensor): TensorDatatype {
  const type = tensor.type;
  if (!Object.hasOwn(DATATYPE_BY_ORT_TYPE, type)) {
    throw new TypeError(`output tensors of type ${type} cannot be written as V2 JSON`);
  }
  return DATATYPE_BY_ORT_TYPE[type as OrtTensorType];
}

/** The JSON array text of a tensor's flat data. */
function encodeData(datatype: TensorDatatype, data: TensorValues): string {
  switch (datatype) {
    case 'BYTES':
      return JSON.stringify(data);
    case 'BOOL':
      return encodeBooleans(data as ArrayLike<number | boolean>);
    case 'INT64':
    case 'UINT64':
      return encodeBigInts(data as BigInt64Array | BigUint64Array);
    case 'FP16':
      return encodeFloat16Json(data as ArrayLike<number>);
    case 'FP32':
      return encodeFloat32Json(data as Float32Array);
    case 'FP64':
      return encodeNumbers(data as NumberArray, 'float');
    default:
      return encodeNumbers(data as NumberArray, 'integer');
  }
}

/**
 * Writes numbers as a JSON array through a reused packed array (see scratch-arrays.ts): the same text as
 * `JSON.stringify(Array.from(data))`, NaN and ±Infinity as `null`, and faster than it.
 */
function encodeNumbers(data: NumberArray, kind: ScratchKind): string {
  const length = data.length;
  const values = scratchArray(kind, length);
  for (let index = 0; index < length; index++) values[index] = data[index];
  return JSON.stringify(values);
}

function encodeBooleans(data: ArrayLike<number | boolean>): string {
  const length = data.length;
  const values = scratchArray('boolean', length);
  for (let index = 0; index < length; index++) values[index] = Boolean(data[index]);
  return JSON.stringify(values);
}

/**
 * 64-bit integers as exact literals: through JS numbers while every value is a safe integer (the common case,
 * and as fast as any other integer output), else BigInt64Array#join, which writes each exact decimal literal.
 */
function encodeBigInts(data: BigInt64Array | BigUint64Array): string {
  const length = data.length;
  const values = scratchArray('integer', length);
  for (let index = 0; index < length; index++) {
    const value = data[index] as bigint;
    if (value < MIN_SAFE_BIGINT || value > MAX_SAFE_BIGINT) return `[${data.join(',')}]`;
    values[index] = Number(value);
  }
  return JSON.stringify(values);
}

/** A tensor's flat data as JSON-safe JS values. */
function flatValues(datatype: TensorDatatype, data: TensorValues): unknown[] {
  switch (datatype) {
    case 'BYTES':
      return Array.from(data as readonly string[]);
    case 'BOOL':
      return Array.from(data as ArrayLike<number | boolean>, Boolean);
    case 'INT64':
    case 'UINT64': {
      const source = data as BigInt64Array | BigUint64Array;
      const values: unknown[] = new Array(source.length);
      for (let index = 0; index < source.length; index++) {
        const value = source[index] as bigint;
        values[index] = value >= MIN_SAFE_BIGINT && value <= MAX_SAFE_BIGINT ? Number(value) : value;
      }
      return values;
    }
    case 'FP32':
      return JSON.parse(encodeFloat32Json(data as Float32Array)) as unknown[];
    case 'FP16':
      return JSON.parse(encodeFloat16Json(data as ArrayLike<number>)) as unknown[];
    default: {
      const source = data as NumberArray;
      const values: unknown[] = new Array(source.length);
      for (let index = 0; index < source.length; index++) {
        const value = source[index] as number;
        values[index] = value - value === 0 ? value : null;
      }
      return values;
    }
  }
}

/** JSON.stringify's algorithm plus bigints; returns undefined where JSON.stringify would skip the value. */
function writeJson(value: unknown, depth: number): string | undefined {
  if (depth > MAX_STRINGIFY_DEPTH)
    throw new TypeError(`value nests deeper than ${MAX_STRINGIFY_DEPTH} levels (a cycle?)`);
  let current = value;
  if (
    typeof current === 'object' &&
    current !== null &&
    typeof (current as { toJSON?: unknown }).toJSON === 'function'
  ) {
    current = (current as { toJSON: () => unknown }).toJSON();
  }
  switch (typeof current) {
    case 'bigint':
      return current.toString();
    case 'number':
      return Number.isFinite(current) ? String(current) : 'null';
    case 'string':
    case 'boolean':
      return JSON.stringify(current);
    case 'object': {
      if (current === null) return 'null';
      if (Array.isArray(current)) {
        const items: string[] = new Array(current.length);
        for (let index = 0; index < current.length; index++)
          items[index] = writeJson(current[index], depth + 1) ?? 'null';
        return `[${items.join(',')}]`;
      }
      const members: string[] = [];
      for (const [key, item] of Object.entries(current)) {
        const written = writeJson(item, depth + 1);
        if (written !== undefined) members.push(`${JSON.stringify(key)}:${written}`);
      }
      return `{${members.join(',')}}`;
    }
    default:
      return undefined;
  }
}
