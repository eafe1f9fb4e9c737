import { isBinaryContentType } from '../core/contract/binary-media-types.js';
import { INFERENCE_HEADER_CONTENT_LENGTH, readHeader } from '../core/contract/headers.js';
import { type InferRequest, InferRequestSchema } from '../core/contract/infer-request.js';
import { describeIssues } from '../core/errors/describe-issues.js';
import { InvalidRequestError } from '../core/errors/request-errors.js';
import { parseJson } from '../core/tensor/parse-json.js';
import { type BodyEvent, decodeUtf8Text, readBodyBytes, refuseContentEncoding } from './request-body.js';

/** A header length as the binary extension writes it: a decimal byte count. */
const HEADER_LENGTH_PATTERN = /^\s*(\d{1,10})\s*$/;

/** The body of `POST .../infer`, read as the binary tensor extension allows. */
export type InferBody =
  /** A plain JSON inference request, still unread: big ones are parsed off the request's thread (see `decodeJsonFeeds`). */
  | { readonly kind: 'json' }
  /** A JSON header, parsed, and the binary tensor data that followed it. */
  | { readonly kind: 'request'; readonly request: InferRequest; readonly binary: Uint8Array }
  /** A raw binary body: the data of the model's only input, nothing else. */
  | { readonly kind: 'raw'; readonly bytes: Uint8Array };

/**
 * Reads an inference request body: plain JSON; a JSON header of `Inference-Header-Content-Length` bytes followed
 * by binary tensor data; or, with that header at 0 (or absent with `Content-Type: application/octet-stream`), the
 * raw binary data of a single-input model. A JSON header is parsed exactly and checked against the request schema;
 * a bad header length is a 400, a content-encoded body a 415. Plain JSON is only told apart here: it is read by
 * `decodeJsonFeeds`, which also turns its tensors into feeds.
 *
 * @example
 * const body = readInferBody(event);
 * if (body.kind === 'request') console.log(body.request.inputs.length, body.binary.byteLength);
 */
export function readInferBody(event: BodyEvent): InferBody {
  refuseContentEncoding(event);
  const headerLength = readHeader(event, INFERENCE_HEADER_CONTENT_LENGTH);
  if (headerLength === undefined && !isBinaryContentType(readHeader(event, 'content-type'))) {
    return { kind: 'json' };
  }
  const match = headerLength === undefined ? null : HEADER_LENGTH_PATTERN.exec(headerLength);
  // The binary data after the header aligned where the body is decoded, so its tensors are viewed, not copied.
  const bytes = readBodyBytes(event, match ? Number(match[1]) : 0);
  if (headerLength === undefined) return { kind: 'raw', bytes };
  if (!match) {
    throw new InvalidRequestError(
      `header ${INFERENCE_HEADER_CONTENT_LENGTH} is ${JSON.stringify(headerLength.slice(0, 40))}; expected the byte length of the JSON header (0 for a raw binary body)`,
    );
  }
  const length = Number(match[1]);
  if (length === 0) return { kind: 'raw', bytes };
  if (length > bytes.byteLength) {
    throw new InvalidRequestError(
      `header ${INFERENCE_HEADER_CONTENT_LENGTH} is ${length}, but the body has only ${bytes.byteLength} bytes`,
    );
  }
  return {
    kind: 'request',
    request: parseInferRequest(decodeUtf8Text(bytes.subarray(0, length), 'the JSON header')),
    binary: bytes.subarray(length),
  };
}

/**
 * Parses a V2 inference request's JSON exactly (see `parseJson`) and checks it against the request schema; every
 * failure is a 400 naming the problem.
 *
 * @example
 * parseInferRequest('{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}').inputs[0]?.name; // 'x'
 */
export function parseInferRequest(text: string): InferRequest {
  const parsed = InferRequestSchema.safeParse(parseJson(text));
  if (!parsed.success)
    throw new InvalidRequestError(`invalid inference request: ${describeIssues(parsed.error)}`);
  return parsed.data;
}
