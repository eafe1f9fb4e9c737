import { InvalidRequestError } from '../errors/request-errors.js';
import type { TensorDatatype } from './datatypes.js';
import { FLOAT16_MAX, toFloat16Bits } from './float16.js';
import { type TensorData, tensorOf } from './TensorData.js';
import type { TensorSpec } from './TensorSpec.js';

/** Most elements one input tensor may have: 16 Mi, far more than a 6 MB JSON body can carry, so only a lying shape hits it. */
export const MAX_TENSOR_ELEMENTS = 16 * 1024 * 1024;

/** Largest finite FP32 value; FP32 inputs beyond it are refused rather than sent as infinity. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Longest string value quoted back in an error message, in characters. */
const MAX_QUOTED_STRING_CHARS = 40;

/** Most dimensions of a shape printed in an error message. */
const MAX_QUOTED_DIMS = 8;

/** A decimal integer string as INT64/UINT64 accept it: no sign but '-', no leading zeros, at most 20 digits. */
const DECIMAL_INTEGER = /^-?(?:0|[1-9]\d{0,19})$/;

/** A high surrogate not followed by a low one, or a low surrogate not preceded by a high one (matched per code unit). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Inclusive range of each integer datatype that a JS number covers exactly. */
const NUMBER_RANGE = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
} as const;

/** Inclusive range of each 64-bit integer datatype. */
const BIGINT_RANGE = {
  INT64: [-(2n ** 63n), 2n ** 63n - 1n],
  UINT64: [0n, 2n ** 64n - 1n],
} as const;

/** One input tensor of a V2 request after `parseJson`: shape and data are still unchecked. */
export interface RequestTensorLike {
  readonly name: string;
  readonly datatype: string;
  readonly shape: unknown;
  readonly data?: unknown;
}

/** What the value checks need to name a bad element. */
interface DecodeContext {
  readonly name: string;
  readonly datatype: TensorDatatype;
  readonly dims: readonly number[];
  readonly nested: boolean;
}

/**
 * Checks a V2 request tensor against the model's input spec and builds the onnxruntime tensor.
 *
 * The datatype must equal the spec's; the shape must have the spec's rank and match every fixed dimension;
 * the data must be flat or nested exactly as the shape says, row-major, with at most {@link MAX_TENSOR_ELEMENTS}
 * elements. Values must fit the datatype exactly: BOOL takes true/false; integer types take integral numbers in
 * range (INT64/UINT64 also bigint and decimal strings); FP16/FP32/FP64 take finite numbers in range. Every failure
 * is a {@link InvalidRequestError} naming the input, what was wrong and what was expected (too many elements included).
 *
 * @example
 * const tensor = decodeTensor(
 *   { name: 'x', datatype: 'FP32', shape: [1, 2], data: [[0.5, 1]] },
 *   { name: 'x', datatype: 'FP32', shape: [-1, 2] },
 * );
 */
export function decodeTensor(input: RequestTensorLike, spec: TensorSpec): TensorData {
  const name = input.name;
  if (input.datatype !== spec.datatype) {
    throw bad(name, `datatype is ${describeValue(input.datatype)}, expected ${spec.datatype}`);
  }
  const { dims, count } = checkInputShape(name, input.shape, spec);
  const data = input.data;
  if (!Array.isArray(data)) throw bad(name, `data must be an array, got ${describeValue(data)}`);
  const nested = dims.length >= 2 && data.length > 0 && Array.isArray(data[0]);
  let rows: unknown[][];
  let rowLength: number;
  if (nested) {
    rows = innermostArrays(name, data, dims);
    rowLength = dims[dims.length - 1] as number;
  } else {
    if (data.length !== count) {
      throw bad(name, `shape ${formatShape(dims)} needs ${count} values, data has ${data.length}`);
    }
    rows = [data];
    rowLength = count;
  }
  const context: DecodeContext = { name, datatype: spec.datatype, dims, nested };
  switch (spec.datatype) {
    case 'FP32':
      return tensorOf(
        'float32',
        fillFloats(context, rows, rowLength, new Float32Array(count), FLOAT32_MAX),
        dims,
      );
    case 'FP64':
      return tensorOf(
        'float64',
        fillFloats(context, rows, rowLength, new Float64Array(count), Number.MAX_VALUE),
        dims,
      );
    case 'FP16':
      return tensorOf('float16', fillFloat16(context, rows, rowLength, new Uint16Array(count)), dims);
    case 'INT8':
      return tensorOf(
        'int8',
        fillIntegers(context, rows, rowLength, new Int8Array(count), NUMBER_RANGE.INT8),
        dims,
      );
    case 'INT16':
      return tensorOf(
        'int16',
        fillIntegers(context, rows, rowLength, new Int16Array(count), NUMBER_RANGE.INT16),
        dims,
      );
    case 'INT32':
      return tensorOf(
        'int32',
        fillIntegers(context, rows, rowLength, new Int32Array(count), NUMBER_RANGE.INT32),
        dims,
      );
    case 'UINT8':
      return tensorOf(
        'uint8',
        fillIntegers(context, rows, rowLength, new Uint8Array(count), NUMBER_RANGE.UINT8),
        dims,
      );
    case 'UINT16':
      return tensorOf(
        'uint16',
        fillIntegers(context, rows, rowLength, new Uint16Array(count), NUMBER_RANGE.UINT16),
        dims,
      );
    case 'UINT32':
      return tensorOf(
        'uint32',
        fillIntegers(context, rows, rowLength, new Uint32Array(count), NUMBER_RANGE.UINT32),
        dims,
      );
    case 'INT64':
      return tensorOf(
        'int64',
        fillBigInts(context, rows, rowLength, new BigInt64Array(count), BIGINT_RANGE.INT64),
        dims,
      );
    case 'UINT64':
      return tensorOf(
        'uint64',
        fillBigInts(context, rows, rowLength, new BigUint64Array(count), BIGINT_RANGE.UINT64),
        dims,
      );
    case 'BOOL':
      return tensorOf('bool', fillBooleans(context, rows, rowLength, new Uint8Array(count)), dims);
    case 'BYTES':
      return tensorOf('string', fillStrings(context, rows, rowLength, new Array<string>(count)), dims);
  }
}

/**
 * Builds the tensor of one input of the simple form, inferring the shape from the nesting.
 *
 * The first dimension is the number of rows; each further dimension is the length of the first element one
 * level down, and {@link decodeTensor} then checks that every row agrees. The datatype is the spec's.
 *
 * @example
 * decodeRows('x', [[5.1, 3.5], [4.9, 3.0]], { name: 'x', datatype: 'FP32', shape: [-1, 2] }); // dims [2, 2]
 */
export function decodeRows(name: string, rows: unknown, spec: TensorSpec): TensorData {
  const shape: number[] = [];
  let level = rows;
  // One level past the spec's rank is enough to report the rank mismatch.
  while (Array.isArray(level) && shape.length <= spec.shape.length) {
    shape.push(level.length);
    level = level[0];
  }
  const data = Array.isArray(rows) ? rows : [rows];
  return decodeTensor({ name, datatype: spec.datatype, shape, data }, spec);
}

/**
 * Checks a request's shape against the model's input spec: the spec's rank, every fixed dimension, at most
 * {@link MAX_TENSOR_ELEMENTS} elements. Returns the dims and their element count; failures are 400, too many elements included.
 *
 * @example
 * checkInputShape('x', [2, 4], { name: 'x', datatype: 'FP32', shape: [-1, 4] }); // { dims: [2, 4], count: 8 }
 */
export function checkInputShape(
  name: string,
  shape: unknown,
  spec: TensorSpec,
): { dims: number[]; count: number } {
  const dims = checkShape(name, shape, spec);
  return { dims, count: elementCount(name, dims) };
}

function checkShape(name: string, shape: unknown, spec: TensorSpec): number[] {
  if (!Array.isArray(shape)) {
    throw bad(name, `shape must be an array of non-negative integers, got ${describeValue(shape)}`);
  }
  const expected = spec.shape;
  if (shape.length !== expected.length) {
    throw bad(
      name,
      `shape has rank ${shape.length}, expected rank ${expected.length} (model shape ${formatShape(expected)}, -1 is any size)`,
    );
  }
  const dims: number[] = new Array(shape.length);
  for (let axis = 0; axis < shape.length; axis++) {
    const size: unknown = shape[axis];
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw bad(name, `shape[${axis}] is ${describeValue(size)}, expected a non-negative integer`);
    }
    const fixed = expected[axis] as number;
    if (fixed !== -1 && size !== fixed) {
      throw bad(
        name,
        `dimension ${axis} is ${size}, expected ${fixed} (model shape ${formatShape(expected)}, -1 is any size)`,
      );
    }
    dims[axis] = size;
  }
  return dims;
}

function elementCount(name: string, dims: readonly number[]): number {
  let count = 1;
  for (const size of dims) {
    if (size === 0) return 0;
    // Clamped so that a product of huge dimensions stays a finite number that is still over the limit.
    count = Math.min(count * size, MAX_TENSOR_ELEMENTS + 1);
  }
  if (count > MAX_TENSOR_ELEMENTS) {
    throw new InvalidRequestError(
      `input "${name}": shape ${formatShape(dims)} has more than ${MAX_TENSOR_ELEMENTS} elements, the most one tensor may have`,
    );
  }
  return count;
}

/**
 * Checks nested data against the shape, level by level (no recursion), and returns the innermost arrays in
 * row-major order. Each has `dims[rank - 1]` elements; their scalars are checked when the tensor is filled.
 */
function innermostArrays(name: string, data: unknown[], dims: readonly number[]): unknown[][] {
  let level: unknown[][] = [data];
  const last = dims.length - 1;
  for (let axis = 0; axis <= last; axis++) {
    const length = dims[axis] as number;
    // Grown by push, not preallocated, so that a shape that lies about the data allocates nothing big.
    const next: unknown[][] = [];
    for (let index = 0; index < level.length; index++) {
      const array = level[index] as unknown[];
      if (array.length !== length) {
        throw bad(
          name,
          `${nestedPath(index, dims, axis)} has ${array.length} elements, expected ${length} (shape ${formatShape(dims)})`,
        );
      }
      if (axis === last) continue;
      for (let child = 0; child < length; child++) {
        const item: unknown = array[child];
        if (!Array.isArray(item)) {
          throw bad(
            name,
            `${nestedPath(index * length + child, dims, axis + 1)} is ${describeValue(item)}, expected an array of ${dims[axis + 1]} (shape ${formatShape(dims)})`,
          );
        }
        next.push(item);
      }
    }
    if (axis < last) level = next;
  }
  return level;
}

function fillFloats<T extends Float32Array | Float64Array>(
  context: DecodeContext,
  rows: readonly unknown[][],
  rowLength: number,
  target: T,
  max: number,
): T {
  let offset = 0;
  for (let row = 0; row < rows.length; row++) {
    const values = rows[row] as unknown[];
    for (let column = 0; column < rowLength; column++) {
      const value = values[column];
      // The comparisons are false for NaN, so this also refuses NaN and ±Infinity.
      target[offset] =
        typeof value === 'number' && value <= max && value >= -max
          ? value
          : floatOf(context, value, offset, max);
      offset++;
    }
  }
  return target;
}

function fillFloat16(
  context: DecodeContext,
  rows: readonly unknown[][],
  rowLength: number,
  target: Uint16Array,
): Uint16Array {
  let offset = 0;
  for (let row = 0; row < rows.length; row++) {
    const values = rows[row] as unknown[];
    for (let column = 0; column < rowLength; column++) {
      const value = values[column];
      const number =
        typeof value === 'number' && value <= FLOAT16_MAX && value >= -FLOAT16_MAX
          ? value
          : floatOf(context, value, offset, FLOAT16_MAX);
      target[offset] = toFloat16Bits(number);
      offset++;
    }
  }
  return target;
}

/** The slow path of the float fills: converts a bigint in range, refuses everything else. */
function floatOf(context: DecodeContext, value: unknown, offset: number, max: number): number {
  if (typeof value === 'bigint') {
    const number = Number(value);
    if (number <= max && number >= -max) return number;
  }
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'bigint') {
    throw badValue(context, offset, value, `out of range for ${context.datatype} (|x| <= ${max})`);
  }
  throw badValue(context, offset, value, `expected a finite number (${context.datatype})`);
}

function fillIntegers<T extends Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array>(
  context: DecodeContext,
  rows: readonly unknown[][],
  rowLength: number,
  target: T,
  range: readonly [number, number],
): T {
  const [min, max] = range;
  let offset = 0;
  for (let row = 0; row < rows.length; row++) {
    const values = rows[row] as unknown[];
    for (let column = 0; column < rowLength; column++) {
      const value = values[column];
      if (typeof value === 'number' && value >= min && value <= max && Number.isInteger(value)) {
        target[offset] = value;
      } else {
        throw integerError(context, offset, value, `${min} to ${max}`);
      }
      offset++;
    }
  }
  return target;
}

function fillBigInts<T extends BigInt64Array | BigUint64Array>(
  context: DecodeContext,
  rows: readonly unknown[][],
  rowLength: number,
  target: T,
  range: readonly [bigint, bigint],
): T {
  // Every safe integer fits INT64; UINT64 takes the non-negative ones.
  const minSafe = range[0] === 0n ? 0 : Number.MIN_SAFE_INTEGER;
  let offset = 0;
  for (let row = 0; row < rows.length; row++) {
    const values = rows[row] as unknown[];
    for (let column = 0; column < rowLength; column++) {
      const value = values[column];
      target[offset] =
        typeof value === 'number' && Number.isSafeInteger(value) && value >= minSafe
          ? BigInt(value)
          : bigIntOf(context, value, offset, range);
      offset++;
    }
  }
  return target;
}

/** The slow path of the 64-bit fills: bigints and decimal strings in range; explains every refusal. */
function bigIntOf(
  context: DecodeContext,
  value: unknown,
  offset: number,
  range: readonly [bigint, bigint],
): bigint {
  const [min, max] = range;
  let exact: bigint | undefined;
  if (typeof value === 'bigint') exact = value;
  else if (typeof value === 'string' && DECIMAL_INTEGER.test(value)) exact = BigInt(value);
  if (exact !== undefined) {
    if (exact >= min && exact <= max) return exact;
    throw badValue(context, offset, value, `out of range for ${context.datatype} (${min} to ${max})`);
  }
  if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) {
    throw badValue(
      context,
      offset,
      value,
      `beyond ±2^53 a JSON number cannot be represented exactly; send ${context.datatype} values like this as integer literals or decimal strings`,
    );
  }
  throw integerError(context, offset, value, `${min} to ${max}`);
}

function integerError(
  context: DecodeContext,
  offset: number,
  value: unknown,
  range: string,
): InvalidRequestError {
  if ((typeof value === 'number' && Number.isInteger(value)) || typeof value === 'bigint') {
    return badValue(context, offset, value, `out of range for ${context.datatype} (${range})`);
  }
  if (typeof value === 'number' && Number.isFinite(value)) {
    return badValue(
      context,
      offset,
      value,
      `not an integer; ${context.datatype} takes integers from ${range}`,
    );
  }
  const forms =
    context.datatype === 'INT64' || context.datatype === 'UINT64'
      ? ' as a number, integer literal or decimal string'
      : '';
  return badValue(context, offset, value, `expected an integer from ${range}${forms} (${context.datatype})`);
}

function fillBooleans(
  context: DecodeContext,
  rows: readonly unknown[][],
  rowLength: number,
  target: Uint8Array,
): Uint8Array {
  let offset = 0;
  for (let row = 0; row < rows.length; row++) {
    const values = rows[row] as unknown[];
    for (let column = 0; column < rowLength; column++) {
      const value = values[column];
      if (value === true) target[offset] = 1;
      else if (value !== false) throw badValue(context, offset, value, 'expected true or false (BOOL)');
      offset++;
    }
  }
  return target;
}

function fillStrings(
  context: DecodeContext,
  rows: readonly unknown[][],
  rowLength: number,
  target: string[],
): string[] {
  let offset = 0;
  for (let row = 0; row < rows.length; row++) {
    const values = rows[row] as unknown[];
    for (let column = 0; column < rowLength; column++) {
      const value = values[column];
      if (typeof value !== 'string') throw badValue(context, offset, value, 'expected a string (BYTES)');
      const problem = bytesElementProblem(value);
      if (problem !== undefined) throw badValue(context, offset, value, problem);
      target[offset] = value;
      offset++;
    }
  }
  return target;
}

/**
 * Why a string cannot be a BYTES element, or undefined when it can. onnxruntime-node hands strings to the runtime as
 * NUL-terminated UTF-8: a NUL character would cut the element short and a lone surrogate would come back as U+FFFD,
 * so both are refused rather than altered.
 *
 * @example
 * bytesElementProblem('a\u0000b'); // 'contains U+0000 (NUL), which onnxruntime cuts strings at; BYTES elements ...'
 */
export function bytesElementProblem(value: string): string | undefined {
  if (value.includes('\u0000'))
    return 'contains U+0000 (NUL), which onnxruntime cuts strings at; BYTES elements must be text without NUL characters';
  if (LONE_SURROGATE.test(value))
    return 'contains a lone UTF-16 surrogate, which has no UTF-8 form; BYTES elements must be well-formed Unicode text';
  return undefined;
}

function bad(name: string, problem: string): InvalidRequestError {
  return new InvalidRequestError(`input "${name}": ${problem}`);
}

function badValue(
  context: DecodeContext,
  offset: number,
  value: unknown,
  problem: string,
): InvalidRequestError {
  const path = context.nested ? nestedPath(offset, context.dims, context.dims.length) : `data[${offset}]`;
  return bad(context.name, `${path} is ${describeValue(value)}: ${problem}`);
}

/** Names the element at a row-major position among the arrays at `depth` levels down, e.g. `data[1][2]`. */
function nestedPath(position: number, dims: readonly number[], depth: number): string {
  const indices: number[] = new Array(depth);
  let rest = position;
  for (let axis = depth - 1; axis >= 0; axis--) {
    const size = dims[axis] as number;
    indices[axis] = rest % size;
    rest = Math.floor(rest / size);
  }
  return `data${indices.map((index) => `[${index}]`).join('')}`;
}

function formatShape(dims: readonly number[]): string {
  const shown = dims.length > MAX_QUOTED_DIMS ? [...dims.slice(0, MAX_QUOTED_DIMS), '...'] : dims;
  return `[${shown.join(',')}]`;
}

/** Shows a request value in an error message without echoing much of the payload. */
function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(
        value.length > MAX_QUOTED_STRING_CHARS ? `${value.slice(0, MAX_QUOTED_STRING_CHARS)}...` : value,
      );
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(value);
    case 'undefined':
      return 'missing';
    default:
      if (value === null) return 'null';
      return Array.isArray(value) ? 'an array' : 'an object';
  }
}
