import onnxProto from 'onnx-proto';
import { ONNX_ELEM_TYPE_BY_DATATYPE, type TensorDatatype } from '../core/tensor/datatypes.js';

const { onnx } = onnxProto;

/** The ONNX IR version of built models: IR 8 (ONNX 1.10), which every onnxruntime 1.1x+ loads. */
export const BUILT_MODEL_IR_VERSION = 8 as const;

/** The default-domain opset built models import unless told otherwise. */
export const DEFAULT_OPSET_VERSION = 17 as const;

/** A graph input or output: name, V2 datatype and shape, with -1 (or a name) for a dynamic dimension. */
export interface GraphValueSpec {
  readonly name: string;
  readonly datatype: TensorDatatype;
  /**
   * Dimensions: a size, -1 (a dynamic dimension without a name), or a name (a symbolic dimension, the same size
   * in every value that names it, e.g. `batch`).
   */
  readonly shape: readonly (number | string)[];
}

/**
 * One node attribute, tagged with its ONNX type.
 *
 * Tagged rather than inferred from the JavaScript value because `1` could mean an int or a float,
 * and ONNX operators reject an attribute of the wrong type.
 */
export type NodeAttribute =
  | { readonly int: number }
  | { readonly float: number }
  | { readonly ints: readonly number[] }
  | { readonly floats: readonly number[] }
  | { readonly string: string };

/** One operator node of the graph. */
export interface NodeSpec {
  /** ONNX operator name, e.g. `Gemm`. */
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: Readonly<Record<string, NodeAttribute>>;
  /** @default `<opType>_<index in the node list>` */
  readonly name?: string;
  /** Operator domain. @default '' (the default ONNX domain) */
  readonly domain?: string;
}

/** Typed arrays whose element type names a V2 datatype unambiguously. */
export type InitializerTypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A constant tensor stored in the graph (weights, shapes); it is never a graph input. */
export interface InitializerSpec {
  readonly name: string;
  readonly dims: readonly number[];
  /**
   * Values in row-major order. FP16 takes a Uint16Array of half-precision bit patterns, as
   * onnxruntime-node itself represents float16.
   */
  readonly data:
    | InitializerTypedArray
    | readonly number[]
    | readonly bigint[]
    | readonly boolean[]
    | readonly string[];
  /** @default inferred from the typed array; required for plain arrays and for FP16 */
  readonly datatype?: TensorDatatype;
}

/** Everything {@link buildModel} needs to write one single-graph ONNX model. */
export interface ModelSpec {
  readonly inputs: readonly GraphValueSpec[];
  readonly outputs: readonly GraphValueSpec[];
  readonly nodes: readonly NodeSpec[];
  /** @default [] */
  readonly initializers?: readonly InitializerSpec[];
  /** @default 'sluice' */
  readonly graphName?: string;
  /** @default DEFAULT_OPSET_VERSION */
  readonly opsetVersion?: number;
  /** @default 'sluice' */
  readonly producerName?: string;
  /** @default '' (not written) */
  readonly producerVersion?: string;
  /** @default '' (not written) */
  readonly docString?: string;
}

/**
 * Builds the bytes of an ONNX model from a typed description of its graph.
 *
 * The output is deterministic: the same spec always yields the same bytes.
 *
 * @example
 * const bytes = buildModel({
 *   inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
 *   outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 3] }],
 *   nodes: [{ opType: 'Relu', inputs: ['x'], outputs: ['y'] }],
 * });
 * const session = await ort.InferenceSession.create(bytes);
 */
export function buildModel(spec: ModelSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: BUILT_MODEL_IR_VERSION,
    opsetImport: [{ domain: '', version: spec.opsetVersion ?? DEFAULT_OPSET_VERSION }],
    producerName: spec.producerName ?? 'sluice',
    producerVersion: spec.producerVersion ?? '',
    docString: spec.docString ?? '',
    graph: {
      name: spec.graphName ?? 'sluice',
      node: spec.nodes.map(toNodeProto),
      initializer: (spec.initializers ?? []).map(toTensorProto),
      input: spec.inputs.map(toValueInfoProto),
      output: spec.outputs.map(toValueInfoProto),
    },
  });
  // A plain Uint8Array rather than protobufjs's Buffer, so callers compare and hash one type.
  return new Uint8Array(onnx.ModelProto.encode(model).finish());
}

function toValueInfoProto(value: GraphValueSpec): onnxProto.onnx.IValueInfoProto {
  const dim = value.shape.map((size, index) => {
    if (typeof size === 'string') return { dimParam: size };
    // ONNX lets a dimension have neither a value nor a name: its size is unknown, fixed at run time.
    if (size === -1) return {};
    if (!Number.isInteger(size) || size < 0) {
      throw new RangeError(
        `graph value "${value.name}": dimension ${index} is ${size}; use a size >= 0 or -1`,
      );
    }
    return { dimValue: size };
  });
  return {
    name: value.name,
    type: { tensorType: { elemType: ONNX_ELEM_TYPE_BY_DATATYPE[value.datatype], shape: { dim } } },
  };
}

function toNodeProto(node: NodeSpec, index: number): onnxProto.onnx.INodeProto {
  return {
    name: node.name ?? `${node.opType}_${index}`,
    opType: node.opType,
    domain: node.domain ?? '',
    input: [...node.inputs],
    output: [...node.outputs],
    attribute: Object.entries(node.attributes ?? {}).map(([name, value]) => toAttributeProto(name, value)),
  };
}

function toAttributeProto(name: string, attribute: NodeAttribute): onnxProto.onnx.IAttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if ('int' in attribute) return { name, type: AttributeType.INT, i: attribute.int };
  if ('float' in attribute) return { name, type: AttributeType.FLOAT, f: attribute.float };
  if ('ints' in attribute) return { name, type: AttributeType.INTS, ints: [...attribute.ints] };
  if ('floats' in attribute) return { name, type: AttributeType.FLOATS, floats: [...attribute.floats] };
  return { name, type: AttributeType.STRING, s: new TextEncoder().encode(attribute.string) };
}

/** How one fixed-width element is written into `raw_data` (little-endian, as ONNX requires). */
interface ElementWriter {
  readonly bytes: number;
  write(view: DataView, offset: number, value: unknown): void;
}

const ELEMENT_WRITERS: Record<Exclude<TensorDatatype, 'BYTES'>, ElementWriter> = {
  BOOL: { bytes: 1, write: (view, offset, value) => view.setUint8(offset, value ? 1 : 0) },
  UINT8: { bytes: 1, write: (view, offset, value) => view.setUint8(offset, Number(value)) },
  UINT16: { bytes: 2, write: (view, offset, value) => view.setUint16(offset, Number(value), true) },
  UINT32: { bytes: 4, write: (view, offset, value) => view.setUint32(offset, Number(value), true) },
  UINT64: { bytes: 8, write: (view, offset, value) => view.setBigUint64(offset, toBigInt(value), true) },
  INT8: { bytes: 1, write: (view, offset, value) => view.setInt8(offset, Number(value)) },
  INT16: { bytes: 2, write: (view, offset, value) => view.setInt16(offset, Number(value), true) },
  INT32: { bytes: 4, write: (view, offset, value) => view.setInt32(offset, Number(value), true) },
  INT64: { bytes: 8, write: (view, offset, value) => view.setBigInt64(offset, toBigInt(value), true) },
  FP16: { bytes: 2, write: (view, offset, value) => view.setUint16(offset, Number(value), true) },
  FP32: { bytes: 4, write: (view, offset, value) => view.setFloat32(offset, Number(value), true) },
  FP64: { bytes: 8, write: (view, offset, value) => view.setFloat64(offset, Number(value), true) },
};

function toBigInt(value: unknown): bigint {
  // BigInt(1.5) throws, which is what a non-integer 64-bit initializer value deserves.
  return typeof value === 'bigint' ? value : BigInt(Number(value));
}

function toTensorProto(initializer: InitializerSpec): onnxProto.onnx.ITensorProto {
  const { name, dims, data } = initializer;
  const datatype = initializer.datatype ?? inferDatatype(data);
  if (!datatype) {
    throw new TypeError(`initializer "${name}": give a datatype for plain arrays`);
  }
  const count = dims.reduce((product, size) => product * size, 1);
  if (data.length !== count) {
    throw new RangeError(
      `initializer "${name}": dims [${dims.join(', ')}] need ${count} values, got ${data.length}`,
    );
  }
  const tensor: onnxProto.onnx.ITensorProto = {
    name,
    dims: [...dims],
    dataType: ONNX_ELEM_TYPE_BY_DATATYPE[datatype],
  };
  if (datatype === 'BYTES') {
    tensor.stringData = Array.from(data as ArrayLike<unknown>, (value) =>
      new TextEncoder().encode(String(value)),
    );
    return tensor;
  }
  const writer = ELEMENT_WRITERS[datatype];
  const raw = new Uint8Array(count * writer.bytes);
  const view = new DataView(raw.buffer);
  Array.from(data as ArrayLike<unknown>).forEach((value, index) => {
    writer.write(view, index * writer.bytes, value);
  });
  tensor.rawData = raw;
  return tensor;
}

function inferDatatype(data: InitializerSpec['data']): TensorDatatype | undefined {
  if (data instanceof Float32Array) return 'FP32';
  if (data instanceof Float64Array) return 'FP64';
  if (data instanceof Int8Array) return 'INT8';
  if (data instanceof Uint8Array) return 'UINT8';
  if (data instanceof Int16Array) return 'INT16';
  if (data instanceof Uint16Array) return 'UINT16';
  if (data instanceof Int32Array) return 'INT32';
  if (data instanceof Uint32Array) return 'UINT32';
  if (data instanceof BigInt64Array) return 'INT64';
  if (data instanceof BigUint64Array) return 'UINT64';
  return undefined;
}
