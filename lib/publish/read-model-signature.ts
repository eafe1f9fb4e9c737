import onnxProto from 'onnx-proto';
import { InvalidModelError } from '../core/errors/model-errors.js';
import type { ModelSignature } from '../core/manifest/ModelSignature.js';
import { datatypeOfOnnxElemType } from '../core/tensor/datatypes.js';
import type { TensorSpec } from '../core/tensor/TensorSpec.js';

const { onnx } = onnxProto;

/**
 * Reads the input and output signature of an ONNX model from its bytes.
 *
 * Dynamic dimensions (symbolic or unknown) become -1; symbolic names are kept in `dimNames`. Throws {@link InvalidModelError} for bytes that
 * are not an ONNX model, a truncated file, a graph with tensor types sluice cannot serve, or a model whose
 * tensors live in external data files (unsupported: a version is one self-contained file).
 *
 * @example
 * const { inputs, outputs } = readModelSignature(await readFile('iris.onnx'));
 */
export function readModelSignature(bytes: Uint8Array): ModelSignature {
  let model: ReturnType<typeof onnx.ModelProto.decode>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new InvalidModelError(`not an ONNX model (protobuf decoding failed: ${(error as Error).message})`, {
      cause: error,
    });
  }
  const graph = model.graph;
  if (!graph || !model.irVersion || (graph.node?.length ?? 0) === 0) {
    throw new InvalidModelError('not an ONNX model (no graph with nodes and no IR version found)');
  }
  // ONNX requires an opset import; without one the file is most likely cut short.
  if ((model.opsetImport?.length ?? 0) === 0) {
    throw new InvalidModelError('not a complete ONNX model (no opset import); is the file truncated?');
  }
  const external = (graph.initializer ?? []).filter(
    (tensor) => tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL,
  );
  if (external.length > 0) {
    const location = external[0]?.externalData?.find((entry) => entry.key === 'location')?.value;
    throw new InvalidModelError(
      `the model keeps ${external.length} tensor(s) in external data files (${location ? `e.g. "${location}"` : 'beside the .onnx file'}), which sluice does not support: a version is one self-contained file. Save it with the weights inside, e.g. onnx.save_model(model, "model.onnx", save_as_external_data=False) (possible up to 2 GB)`,
    );
  }
  const initializers = new Set((graph.initializer ?? []).map((tensor) => tensor.name));
  const inputs = (graph.input ?? []).filter((info) => !initializers.has(info.name ?? '')).map(toTensorSpec);
  const outputs = (graph.output ?? []).map(toTensorSpec);
  if (inputs.length === 0 || outputs.length === 0) {
    throw new InvalidModelError('the ONNX graph has no inputs or no outputs');
  }
  const defaultOpset = (model.opsetImport ?? []).find((opset) => !opset.domain);
  return {
    inputs,
    outputs,
    irVersion: toNumber(model.irVersion),
    producerName: model.producerName || undefined,
    producerVersion: model.producerVersion || undefined,
    opsetVersion: defaultOpset?.version == null ? undefined : toNumber(defaultOpset.version),
  };
}

function toTensorSpec(info: onnxProto.onnx.IValueInfoProto): TensorSpec {
  const name = info.name ?? '';
  const tensorType = info.type?.tensorType;
  if (!name || !tensorType) {
    throw new InvalidModelError(
      `graph value "${name}" is not a tensor; sluice serves tensor inputs and outputs only`,
    );
  }
  const datatype = datatypeOfOnnxElemType(tensorType.elemType ?? 0);
  if (!datatype) {
    throw new InvalidModelError(
      `graph value "${name}" has ONNX element type ${tensorType.elemType}, which sluice cannot serve`,
    );
  }
  const dims = tensorType.shape?.dim ?? [];
  const shape = dims.map((dim) => {
    if (dim.dimValue != null && !dim.dimParam) {
      const value = toNumber(dim.dimValue);
      return value > 0 ? value : -1;
    }
    return -1;
  });
  // Symbolic names are kept so that inputs sharing one (a batch `N`) can be checked to agree in a request.
  const dimNames = dims.map((dim) => dim.dimParam || null);
  return dimNames.some((dimName) => dimName !== null)
    ? { name, datatype, shape, dimNames }
    : { name, datatype, shape };
}

function toNumber(value: number | { toNumber(): number }): number {
  return typeof value === 'number' ? value : value.toNumber();
}
