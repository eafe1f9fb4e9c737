import type { APIGatewayProxyEvent } from 'aws-lambda';
import { isBinaryContentType } from '../core/contract/binary-media-types.js';
import { INFERENCE_HEADER_CONTENT_LENGTH, readHeader } from '../core/contract/headers.js';
import { type InferRequest, InferRequestSchema } from '../core/contract/infer-request.js';
import { describeIssues } from '../core/errors/describe-issues.js';
import { InvalidRequestError } from '../core/errors/request-errors.js';
import { parseJson } from '../core/tensor/parse-json.js';
import { readBodyBytes, readBodyText } from './request-body.js';

/** A header length as the binary extension writes it: a decimal byte count. */
const HEADER_LENGTH_PATTERN = /^\s*(\d{1,10})\s*$/;

/** The body of `POST .../infer`, read as the binary tensor extension allows. */
export type InferBody =
  /** A JSON inference request, with the binary data that followed its JSON header (if any). */
  | { readonly kind: 'request'; readonly request: InferRequest; readonly binary: Uint8Array | undefined }
  /** A raw binary body: the data of the model's only input, nothing else. */
  | { readonly kind: 'raw'; readonly bytes: Uint8Array };

/**
 * Reads an inference request body: plain JSON; a JSON header of `Inference-Header-Content-Length` bytes followed
 * by binary tensor data; or, with that header at 0 (or absent with `Content-Type: application/octet-stream`), the
 * raw binary data of a single-input model. The JSON is parsed exactly and checked against the request schema;
 * a bad header length is a 400.
 *
 * @example
 * const body = readInferBody(event);
 * if (body.kind === 'request') console.log(body.request.inputs.length, body.binary?.byteLength);
 */
export function readInferBody(event: APIGatewayProxyEvent): InferBody {
  const headerLength = readHeader(event, INFERENCE_HEADER_CONTENT_LENGTH);
  if (headerLength === undefined && !isBinaryContentType(readHeader(event, 'content-type'))) {
    return { kind: 'request', request: parseRequest(readBodyText(event)), binary: undefined };
  }
  const bytes = readBodyBytes(event);
  if (headerLength === undefined) return { kind: 'raw', bytes };
  const match = HEADER_LENGTH_PATTERN.exec(headerLength);
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
    request: parseRequest(bytes.toString('utf8', 0, length)),
    binary: bytes.subarray(length),
  };
}

function parseRequest(text: string): InferRequest {
  const parsed = InferRequestSchema.safeParse(parseJson(text));
  if (!parsed.success)
    throw new InvalidRequestError(`invalid inference request: ${describeIssues(parsed.error)}`);
  return parsed.data;
}
