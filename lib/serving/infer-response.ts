import type { APIGatewayProxyResult } from 'aws-lambda';
import type { Tensor } from 'onnxruntime-node';
import { BINARY_CONTENT_TYPE } from '../core/contract/binary-media-types.js';
import { INFERENCE_HEADER_CONTENT_LENGTH } from '../core/contract/headers.js';
import { MAX_RESPONSE_BYTES } from '../core/contract/limits.js';
import { InvalidRequestError } from '../core/errors/request-errors.js';
import { binaryTensorSize, encodeBinaryTensor } from '../core/tensor/binary-tensor.js';
import { encodeTensorJson, outputDatatype } from '../core/tensor/encode-tensor.js';
import { jsonResult } from './proxy-result.js';

/** Fewest JSON characters one element takes in `data` (a digit and a comma); bounds a response before writing it. */
const MIN_JSON_CHARS_PER_ELEMENT = 2;

/** One output of a V2 response and how it travels. */
export interface ResponseOutput {
  readonly name: string;
  readonly tensor: Tensor;
  /** True: written as binary data after the JSON header; false: as JSON `data`. */
  readonly binary: boolean;
}

/** What a V2 inference response says besides its outputs. */
export interface ResponseHead {
  readonly modelName: string;
  readonly modelVersion: number;
  readonly id: string | undefined;
}

/**
 * The answer would be larger than a Lambda response can carry: refused, naming the size and the way round it,
 * before the stack spends seconds writing it. The input was valid, but the client can ask for less.
 */
export class ResponseTooLargeError extends InvalidRequestError {
  constructor(what: string, bytes: number, atLeast: boolean) {
    super(
      `the response would be ${atLeast ? 'at least ' : ''}${bytes} bytes (${what}), over the ${MAX_RESPONSE_BYTES} bytes a response may have (Lambda's 6 MB response limit): request binary outputs (parameters.binary_data_output), fewer outputs ("outputs") or fewer rows`,
    );
  }
}

/**
 * Writes a V2 inference response: JSON when every output is JSON, otherwise the binary tensor extension's form
 * (JSON header, then the binary outputs' bytes in order, `Inference-Header-Content-Length` set, base64 for the
 * proxy result). Refuses with {@link ResponseTooLargeError} an answer over {@link MAX_RESPONSE_BYTES}, checking a
 * lower bound first so a huge output is never written out.
 *
 * @example
 * encodeInferResponse({ modelName: 'iris', modelVersion: 1, id: undefined }, [{ name: 'label', tensor, binary: false }]);
 */
export function encodeInferResponse(
  head: ResponseHead,
  outputs: readonly ResponseOutput[],
): APIGatewayProxyResult {
  let lowerBound = 0;
  let binaryBytes = 0;
  for (const output of outputs) {
    if (output.binary) binaryBytes += binaryTensorSize(output.tensor);
    else lowerBound += output.tensor.size * MIN_JSON_CHARS_PER_ELEMENT;
  }
  lowerBound += base64Length(binaryBytes);
  if (lowerBound > MAX_RESPONSE_BYTES)
    throw new ResponseTooLargeError(describeOutputs(outputs), lowerBound, true);
  let text = `{"model_name":${JSON.stringify(head.modelName)},"model_version":"${head.modelVersion}"`;
  if (head.id !== undefined) text += `,"id":${JSON.stringify(head.id)}`;
  text += ',"outputs":[';
  const chunks: Uint8Array[] = [];
  for (let index = 0; index < outputs.length; index++) {
    const { name, tensor, binary } = outputs[index] as ResponseOutput;
    if (index > 0) text += ',';
    if (binary) {
      const bytes = encodeBinaryTensor(tensor);
      chunks.push(bytes);
      text += `{"name":${JSON.stringify(name)},"datatype":"${outputDatatype(tensor)}","shape":${JSON.stringify(tensor.dims)},"parameters":{"binary_data_size":${bytes.byteLength}}}`;
    } else {
      text += encodeTensorJson(name, tensor);
    }
  }
  text += ']}';
  if (chunks.length === 0) {
    checkSize(describeOutputs(outputs), utf8Length(text));
    return jsonResult(200, text);
  }
  const header = Buffer.from(text, 'utf8');
  checkSize(describeOutputs(outputs), base64Length(header.byteLength + binaryBytes));
  const body = Buffer.concat([header, ...chunks], header.byteLength + binaryBytes).toString('base64');
  return {
    statusCode: 200,
    headers: {
      'content-type': BINARY_CONTENT_TYPE,
      [INFERENCE_HEADER_CONTENT_LENGTH]: String(header.byteLength),
    },
    body,
    isBase64Encoded: true,
  };
}

/**
 * Refuses a JSON answer whose outputs cannot fit the response limit, before they are turned into JS values;
 * for the simple form, whose answer is written by JSON.stringify.
 */
export function checkJsonOutputsFit(
  outputs: readonly { readonly name: string; readonly tensor: Tensor }[],
): void {
  let lowerBound = 0;
  for (const output of outputs) lowerBound += output.tensor.size * MIN_JSON_CHARS_PER_ELEMENT;
  if (lowerBound > MAX_RESPONSE_BYTES)
    throw new ResponseTooLargeError(describeOutputs(outputs), lowerBound, true);
}

/** Refuses a written answer over the limit. */
export function checkSize(what: string, bytes: number): void {
  if (bytes > MAX_RESPONSE_BYTES) throw new ResponseTooLargeError(what, bytes, false);
}

/** UTF-8 length of a response text, measured only when it could be near the limit. */
export function utf8Length(text: string): number {
  return text.length * 3 > MAX_RESPONSE_BYTES ? Buffer.byteLength(text, 'utf8') : text.length;
}

/** Names the outputs and their element counts, for the error message. */
export function describeOutputs(
  outputs: readonly { readonly name: string; readonly tensor: Tensor }[],
): string {
  return outputs.map((output) => `"${output.name}" ${output.tensor.size} elements`).join(', ');
}

function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}
