import type { APIGatewayProxyResult } from 'aws-lambda';
import type { Tensor } from 'onnxruntime-node';
import { BINARY_CONTENT_TYPE } from '../core/contract/binary-media-types.js';
import { INFERENCE_HEADER_CONTENT_LENGTH } from '../core/contract/headers.js';
import { MAX_RESPONSE_BYTES } from '../core/contract/limits.js';
import { InvalidRequestError } from '../core/errors/request-errors.js';
import { binaryTensorSize, encodeBinaryTensor } from '../core/tensor/binary-tensor.js';
import { encodeTensorJson, outputDatatype } from '../core/tensor/encode-tensor.js';
import { binaryResult, jsonResult } from './proxy-result.js';

/** Fewest JSON characters one element takes in `data` (a digit and a comma); bounds a response before writing it. */
const MIN_JSON_CHARS_PER_ELEMENT = 2;

/** One output of a V2 response and how it travels. */
export interface ResponseOutput {
  readonly name: string;
  readonly tensor: Tensor;
  /** True: written as binary data after the JSON header; false: as JSON `data`. */
  readonly binary: boolean;
  /** Present: the output was written to an object, and is answered with these parameters and no data. */
  readonly reference?: Readonly<Record<string, string | number>>;
}

/** What a V2 inference response says besides its outputs. */
export interface ResponseHead {
  readonly modelName: string;
  readonly modelVersion: number;
  readonly id: string | undefined;
}

/** What a client can do about an answer too large to send, by the form of its request: only what that form allows. */
export const ResponseRemedy = {
  /** A V2 JSON request (or a JSON header with binary data) can ask for binary or fewer outputs. */
  V2: 'request binary outputs (parameters.binary_data_output), fewer outputs ("outputs"), fewer rows, or outputs by reference (parameters.sluice_object_output: "auto")',
  /** A raw binary body has no JSON to ask anything in. */
  RAW_BODY: `a raw binary body cannot ask for binary or fewer outputs: send fewer rows per request, or send the input after a JSON header (${INFERENCE_HEADER_CONTENT_LENGTH}, binary_data_size) that asks for binary outputs (parameters.binary_data_output)`,
  /** The simple form answers in JSON only. */
  SIMPLE_FORM:
    'the simple form answers in JSON only: send fewer rows per request, or call POST /v2/models/{m}/infer and request binary outputs (parameters.binary_data_output)',
} as const;
/** One remedy for an answer too large to send. */
export type ResponseRemedy = (typeof ResponseRemedy)[keyof typeof ResponseRemedy];

/**
 * The answer would be larger than a Lambda response can carry: refused, naming the size and the way round it that
 * the request's form allows, before the stack spends seconds writing it. The input was valid, but the client can
 * ask for less.
 */
export class ResponseTooLargeError extends InvalidRequestError {
  constructor(what: string, bytes: number, atLeast: boolean, remedy: ResponseRemedy = ResponseRemedy.V2) {
    super(
      `the response would be ${atLeast ? 'at least ' : ''}${bytes} bytes (${what}), over the ${MAX_RESPONSE_BYTES} bytes a response may have (Lambda's 6 MB response limit): ${remedy}`,
    );
  }
}

/**
 * Writes a V2 inference response: JSON when every output is JSON, otherwise the binary tensor extension's form
 * (JSON header, then the binary outputs' bytes in order, `Inference-Header-Content-Length` set, base64 for the
 * proxy result). Refuses with {@link ResponseTooLargeError} an answer over {@link MAX_RESPONSE_BYTES}, checking a
 * lower bound first so a huge output is never written out; its message offers `remedy`.
 *
 * @example
 * encodeInferResponse({ modelName: 'iris', modelVersion: 1, id: undefined }, [{ name: 'label', tensor, binary: false }]);
 */
export function encodeInferResponse(
  head: ResponseHead,
  outputs: readonly ResponseOutput[],
  remedy: ResponseRemedy = ResponseRemedy.V2,
): APIGatewayProxyResult {
  let lowerBound = 0;
  let binaryBytes = 0;
  for (const output of outputs) {
    if (output.reference) continue;
    if (output.binary) binaryBytes += binaryTensorSize(output.tensor);
    else lowerBound += output.tensor.size * MIN_JSON_CHARS_PER_ELEMENT;
  }
  lowerBound += base64Length(binaryBytes);
  if (lowerBound > MAX_RESPONSE_BYTES)
    throw new ResponseTooLargeError(describeOutputs(outputs), lowerBound, true, remedy);
  let text = `{"model_name":${JSON.stringify(head.modelName)},"model_version":"${head.modelVersion}"`;
  if (head.id !== undefined) text += `,"id":${JSON.stringify(head.id)}`;
  text += ',"outputs":[';
  const chunks: Uint8Array[] = [];
  for (let index = 0; index < outputs.length; index++) {
    const { name, tensor, binary, reference } = outputs[index] as ResponseOutput;
    if (index > 0) text += ',';
    if (reference) {
      text += `{"name":${JSON.stringify(name)},"datatype":"${outputDatatype(tensor)}","shape":${JSON.stringify(tensor.dims)},"parameters":${JSON.stringify(reference)}}`;
    } else if (binary) {
      const bytes = encodeBinaryTensor(tensor);
      chunks.push(bytes);
      text += `{"name":${JSON.stringify(name)},"datatype":"${outputDatatype(tensor)}","shape":${JSON.stringify(tensor.dims)},"parameters":{"binary_data_size":${bytes.byteLength}}}`;
    } else {
      text += encodeTensorJson(name, tensor);
    }
  }
  text += ']}';
  if (chunks.length === 0) {
    checkSize(() => describeOutputs(outputs), utf8Length(text), remedy);
    return jsonResult(200, text);
  }
  const header = Buffer.from(text, 'utf8');
  checkSize(() => describeOutputs(outputs), base64Length(header.byteLength + binaryBytes), remedy);
  return binaryResult(200, Buffer.concat([header, ...chunks], header.byteLength + binaryBytes), {
    'content-type': BINARY_CONTENT_TYPE,
    [INFERENCE_HEADER_CONTENT_LENGTH]: String(header.byteLength),
  });
}

/**
 * Refuses a JSON answer whose outputs cannot fit the response limit, before they are turned into JS values;
 * for the simple form, whose answer is written by JSON.stringify.
 */
export function checkJsonOutputsFit(
  outputs: readonly { readonly name: string; readonly tensor: Tensor }[],
  remedy: ResponseRemedy,
): void {
  let lowerBound = 0;
  for (const output of outputs) lowerBound += output.tensor.size * MIN_JSON_CHARS_PER_ELEMENT;
  if (lowerBound > MAX_RESPONSE_BYTES)
    throw new ResponseTooLargeError(describeOutputs(outputs), lowerBound, true, remedy);
}

/** Refuses a written answer over the limit, offering `remedy`; `what` names the outputs, only then. */
export function checkSize(what: () => string, bytes: number, remedy: ResponseRemedy): void {
  if (bytes > MAX_RESPONSE_BYTES) throw new ResponseTooLargeError(what(), bytes, false, remedy);
}

/**
 * UTF-8 length of a response text, measured only where its character count cannot settle the size check: a text of
 * at most a third of the limit in characters fits whatever it holds (a UTF-16 unit is at most 3 bytes), and one of
 * more characters than the limit is over it whatever it holds (each is at least a byte). Both are given as their
 * character count, which is their exact size for the ASCII text of numeric outputs with ASCII names
 * (encodeTensorJson writes only ASCII there) and a lower bound otherwise; so refusing an 11 MB answer takes no
 * second pass over it.
 */
export function utf8Length(text: string): number {
  const characters = text.length;
  if (characters * 3 <= MAX_RESPONSE_BYTES || characters > MAX_RESPONSE_BYTES) return characters;
  return Buffer.byteLength(text, 'utf8');
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
