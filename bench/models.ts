/**
 * Models the benchmark generates for itself (never committed): an image-sized conv net and a ~100 MB model.
 */
import onnxProto from 'onnx-proto';
import { INFERENCE_HEADER_CONTENT_LENGTH } from '../lib/core/contract/headers.js';
import { buildModel } from '../lib/tools/model-builder.js';
import { seededRandom } from '../lib/tools/seeded-random.js';

const { onnx } = onnxProto;

/** Feature maps of the conv net's hidden layers. */
const CHANNELS = 48;

/** Side of the conv net's square input: 1x3x640x640, the size of a text detector's input. */
export const IMAGE_SIDE = 640;

/**
 * A fully convolutional net on a 1x3x640x640 FP32 image: 3x3 convs 3->48, 48->48, 48->48 with ReLU, then 48->1
 * and a sigmoid; the output is a 1x1x640x640 probability map, as a text detector's. About 17 GFLOP per image, so
 * its run takes about as long as the text detector of issue 10 (282 ms there).
 */
export function convNetModel(): Uint8Array {
  const random = seededRandom(7);
  const weights = (count: number, scale: number) =>
    Float32Array.from({ length: count }, () => (random() * 2 - 1) * scale);
  const conv = (input: string, output: string, weight: string, bias: string) => ({
    opType: 'Conv',
    inputs: [input, weight, bias],
    outputs: [output],
    attributes: { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } },
  });
  return buildModel({
    graphName: 'conv_net',
    inputs: [{ name: 'image', datatype: 'FP32', shape: [1, 3, IMAGE_SIDE, IMAGE_SIDE] }],
    outputs: [{ name: 'map', datatype: 'FP32', shape: [1, 1, IMAGE_SIDE, IMAGE_SIDE] }],
    initializers: [
      { name: 'w1', dims: [CHANNELS, 3, 3, 3], data: weights(CHANNELS * 27, 0.3) },
      { name: 'b1', dims: [CHANNELS], data: weights(CHANNELS, 0.1) },
      { name: 'w2', dims: [CHANNELS, CHANNELS, 3, 3], data: weights(CHANNELS * CHANNELS * 9, 0.05) },
      { name: 'b2', dims: [CHANNELS], data: weights(CHANNELS, 0.1) },
      { name: 'w3', dims: [CHANNELS, CHANNELS, 3, 3], data: weights(CHANNELS * CHANNELS * 9, 0.05) },
      { name: 'b3', dims: [CHANNELS], data: weights(CHANNELS, 0.1) },
      { name: 'w4', dims: [1, CHANNELS, 3, 3], data: weights(CHANNELS * 9, 0.05) },
      { name: 'b4', dims: [1], data: weights(1, 0.1) },
    ],
    nodes: [
      conv('image', 'c1', 'w1', 'b1'),
      { opType: 'Relu', inputs: ['c1'], outputs: ['r1'] },
      conv('r1', 'c2', 'w2', 'b2'),
      { opType: 'Relu', inputs: ['c2'], outputs: ['r2'] },
      conv('r2', 'c3', 'w3', 'b3'),
      { opType: 'Relu', inputs: ['c3'], outputs: ['r3'] },
      conv('r3', 'c4', 'w4', 'b4'),
      { opType: 'Sigmoid', inputs: ['c4'], outputs: ['map'] },
    ],
  });
}

/** Width of the big model's layers; each layer's weights are WIDTH^2 FP32 values (16 MiB). */
const BIG_WIDTH = 2048;

/**
 * A ~100 MB model: six 2048x2048 FP32 MatMul layers with ReLU between, input `x` FP32 [-1, 2048]. The weights
 * are written as raw bytes directly (the model builder's per-value writer would take seconds for 25M values).
 */
export function bigModel(layers = 6): Uint8Array {
  const random = seededRandom(11);
  const initializer = [];
  const node = [];
  let current = 'x';
  for (let layer = 0; layer < layers; layer++) {
    const weights = new Float32Array(BIG_WIDTH * BIG_WIDTH);
    for (let index = 0; index < weights.length; index++) weights[index] = (random() * 2 - 1) * 0.02;
    initializer.push({
      name: `w${layer}`,
      dataType: onnx.TensorProto.DataType.FLOAT,
      dims: [BIG_WIDTH, BIG_WIDTH],
      rawData: new Uint8Array(weights.buffer),
    });
    const product = `m${layer}`;
    const output = layer === layers - 1 ? 'y' : `r${layer}`;
    node.push({ opType: 'MatMul', input: [current, `w${layer}`], output: [product], name: `matmul${layer}` });
    node.push({ opType: 'Relu', input: [product], output: [output], name: `relu${layer}` });
    current = output;
  }
  const tensor = (name: string) => ({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: [{ dimParam: 'batch' }, { dimValue: BIG_WIDTH }] },
      },
    },
  });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'sluice-bench',
      opsetImport: [{ domain: '', version: 17 }],
      graph: { name: 'big', node, initializer, input: [tensor('x')], output: [tensor('y')] },
    }),
  ).finish();
}

/** The big model's input width, for building its request. */
export const BIG_MODEL_WIDTH = BIG_WIDTH;

/** Input of the small conv net: 1x3x48x192, a text-line crop as PaddleOCR's direction classifier takes it. */
export const SMALL_CONV_SHAPE = [1, 3, 48, 192] as const;

/**
 * A ~1 MB conv net on a 1x3x48x192 FP32 crop, the size and shape of PaddleOCR's direction classifier (issue 18's
 * "cls"): four 3x3 convs 3->32->64->128->128 with ReLU, the last three of stride 2 (about 240 000 weights, 0.11
 * GMAC), a global average pool and a 128->2 Gemm with a softmax. A run takes a few milliseconds, as cls's does: the
 * fixed cost per request shows here.
 */
export function smallConvNetModel(): Uint8Array {
  const random = seededRandom(13);
  const weights = (count: number, scale: number) =>
    Float32Array.from({ length: count }, () => (random() * 2 - 1) * scale);
  const widths = [3, 32, 64, 128, 128];
  const initializers = [];
  const nodes = [];
  let current = 'image';
  for (let layer = 0; layer + 1 < widths.length; layer++) {
    const [from, to] = [widths[layer] as number, widths[layer + 1] as number];
    initializers.push(
      { name: `w${layer}`, dims: [to, from, 3, 3], data: weights(to * from * 9, 0.1) },
      { name: `b${layer}`, dims: [to], data: weights(to, 0.05) },
    );
    nodes.push(
      {
        opType: 'Conv',
        inputs: [current, `w${layer}`, `b${layer}`],
        outputs: [`c${layer}`],
        attributes: {
          kernel_shape: { ints: [3, 3] },
          pads: { ints: [1, 1, 1, 1] },
          strides: { ints: layer === 0 ? [1, 1] : [2, 2] },
        },
      },
      { opType: 'Relu', inputs: [`c${layer}`], outputs: [`r${layer}`] },
    );
    current = `r${layer}`;
  }
  initializers.push(
    { name: 'fc', dims: [128, 2], data: weights(256, 0.1) },
    { name: 'fcb', dims: [2], data: weights(2, 0.05) },
  );
  nodes.push(
    { opType: 'GlobalAveragePool', inputs: [current], outputs: ['pooled'] },
    { opType: 'Flatten', inputs: ['pooled'], outputs: ['flat'] },
    { opType: 'Gemm', inputs: ['flat', 'fc', 'fcb'], outputs: ['logits'] },
    { opType: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attributes: { axis: { int: 1 } } },
  );
  return buildModel({
    graphName: 'small_conv_net',
    inputs: [{ name: 'image', datatype: 'FP32', shape: [...SMALL_CONV_SHAPE] }],
    outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [1, 2] }],
    initializers,
    nodes,
  });
}

/** Features of the MLP's input: an 8x8 digit, as scikit-learn's digits. */
export const MLP_FEATURES = 64;

/**
 * A ~10 KB MLP on 8x8 digits: 64->32 Gemm, ReLU, 32->10 Gemm, softmax (2 410 weights). Its run takes tens of
 * microseconds: a request to it is all fixed cost.
 */
export function digitsMlpModel(): Uint8Array {
  const random = seededRandom(17);
  const weights = (count: number, scale: number) =>
    Float32Array.from({ length: count }, () => (random() * 2 - 1) * scale);
  return buildModel({
    graphName: 'digits_mlp',
    inputs: [{ name: 'pixels', datatype: 'FP32', shape: ['batch', MLP_FEATURES] }],
    outputs: [{ name: 'probabilities', datatype: 'FP32', shape: ['batch', 10] }],
    initializers: [
      { name: 'w1', dims: [MLP_FEATURES, 32], data: weights(MLP_FEATURES * 32, 0.2) },
      { name: 'b1', dims: [32], data: weights(32, 0.05) },
      { name: 'w2', dims: [32, 10], data: weights(320, 0.2) },
      { name: 'b2', dims: [10], data: weights(10, 0.05) },
    ],
    nodes: [
      { opType: 'Gemm', inputs: ['pixels', 'w1', 'b1'], outputs: ['h'] },
      { opType: 'Relu', inputs: ['h'], outputs: ['hr'] },
      { opType: 'Gemm', inputs: ['hr', 'w2', 'b2'], outputs: ['logits'] },
      { opType: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attributes: { axis: { int: 1 } } },
    ],
  });
}

/**
 * The conv net's request with binary tensors: seeded pixels, the body (a JSON header asking for the map as binary
 * data, then the pixels' bytes) and the HTTP headers it is sent with (`Inference-Header-Content-Length`).
 */
export function convNetRequest(): { pixels: Float32Array; body: Buffer; headers: Record<string, string> } {
  const pixels = new Float32Array(3 * IMAGE_SIDE * IMAGE_SIDE);
  const random = seededRandom(9);
  for (let index = 0; index < pixels.length; index++) pixels[index] = random();
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        {
          name: 'image',
          datatype: 'FP32',
          shape: [1, 3, IMAGE_SIDE, IMAGE_SIDE],
          parameters: { binary_data_size: pixels.byteLength },
        },
      ],
      outputs: [{ name: 'map', parameters: { binary_data: true } }],
    }),
  );
  return {
    pixels,
    body: Buffer.concat([header, Buffer.from(pixels.buffer)]),
    headers: {
      'content-type': 'application/octet-stream',
      [INFERENCE_HEADER_CONTENT_LENGTH]: String(header.byteLength),
    },
  };
}
