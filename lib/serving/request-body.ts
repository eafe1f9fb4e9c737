import type { APIGatewayProxyEvent } from 'aws-lambda';
import { MAX_REQUEST_BYTES } from '../core/contract/limits.js';
import { InvalidRequestError, RequestTooLargeError } from '../core/errors/request-errors.js';

/** Slack allowed on a base64 body's length over 4/3 of the byte limit: padding. */
const BASE64_SLACK_CHARS = 4;

/**
 * Reads a proxy event's body as text (decoding base64 when API Gateway encoded it), refusing it when absent or
 * over {@link MAX_REQUEST_BYTES}.
 *
 * @example
 * const text = readBodyText(event);
 */
export function readBodyText(event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>): string {
  const raw = requireBody(event);
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  // Byte length is only worth measuring when the character count is close to the limit.
  if (text.length * 3 > MAX_REQUEST_BYTES && Buffer.byteLength(text, 'utf8') > MAX_REQUEST_BYTES)
    throw tooLarge();
  return text;
}

/**
 * Reads a proxy event's body as bytes: base64 bodies decoded (API Gateway's binary media types, the local
 * emulator), text bodies as UTF-8. Refused when absent or over {@link MAX_REQUEST_BYTES}.
 *
 * @example
 * const bytes = readBodyBytes(event);
 */
export function readBodyBytes(event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>): Buffer {
  const raw = requireBody(event);
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.byteLength > MAX_REQUEST_BYTES) throw tooLarge();
  return bytes;
}

function requireBody(event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>): string {
  const raw = event.body;
  if (raw === null || raw === undefined || raw === '')
    throw new InvalidRequestError('request body is required: a JSON object');
  const limit = event.isBase64Encoded ? (MAX_REQUEST_BYTES * 4) / 3 + BASE64_SLACK_CHARS : MAX_REQUEST_BYTES;
  if (raw.length > limit) throw tooLarge();
  return raw;
}

function tooLarge(): RequestTooLargeError {
  return new RequestTooLargeError(`request body is larger than ${MAX_REQUEST_BYTES} bytes`);
}
