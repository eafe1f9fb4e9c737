import { isUtf8 } from 'node:buffer';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { WithBodyBytes } from '../core/contract/body-bytes.js';
import { readHeader } from '../core/contract/headers.js';
import { MAX_REQUEST_BYTES } from '../core/contract/limits.js';
import {
  InvalidRequestError,
  RequestTooLargeError,
  UnsupportedEncodingError,
} from '../core/errors/request-errors.js';
import { alignedBodyBuffer } from '../core/tensor/binary-tensor.js';

/** Slack allowed on a base64 body's length over 4/3 of the byte limit: padding. */
const BASE64_SLACK_CHARS = 4;

/** U+FEFF, the byte order mark: `EF BB BF` at the start of a UTF-8 text. */
const BYTE_ORDER_MARK = 0xfeff;

/** The one content coding that leaves a body as it is (RFC 9110 §8.4.1). */
const IDENTITY_CODING = 'identity';

/** Longest header value quoted back in an error message, in characters. */
const MAX_QUOTED_HEADER_CHARS = 40;

/**
 * What a body reader reads of a proxy event: its body as API Gateway sends it, or (locally) its bytes as the
 * emulator received them (see `attachBodyBytes`), which are read instead of the body's base64 form.
 */
export type BodyEvent = Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded' | 'headers'> & WithBodyBytes;

/**
 * Reads a proxy event's body as text (decoding base64 when API Gateway encoded it), refusing it when absent, over
 * {@link MAX_REQUEST_BYTES}, content-encoded (415, see {@link refuseContentEncoding}) or, for base64 bodies, not
 * UTF-8. A leading byte order mark is dropped: RFC 8259 §8.1 lets a parser ignore one rather than fail on it.
 *
 * @example
 * const text = readBodyText(event);
 */
export function readBodyText(event: BodyEvent): string {
  refuseContentEncoding(event);
  if (event.bytes) return decodeUtf8Text(requireBytes(event.bytes), 'request body');
  const raw = requireBody(event);
  const text = event.isBase64Encoded
    ? decodeUtf8Text(Buffer.from(raw, 'base64'), 'request body')
    : withoutByteOrderMark(raw);
  // Byte length is only worth measuring when the character count is close to the limit.
  if (text.length * 3 > MAX_REQUEST_BYTES && Buffer.byteLength(text, 'utf8') > MAX_REQUEST_BYTES)
    throw tooLarge();
  return text;
}

/**
 * Reads a proxy event's body as bytes: base64 bodies decoded (API Gateway's binary media types, the local
 * emulator), text bodies as UTF-8. Refused when absent, over {@link MAX_REQUEST_BYTES} or content-encoded. A base64
 * body is decoded into a buffer of its own whose byte `binaryOffset` is aligned (see `alignedBodyBuffer`), so the
 * binary tensors from there are viewed in place; the emulator's bytes come so aligned when the body had a
 * Content-Length (a chunked one is joined, unaligned, and its tensors copied).
 *
 * @example
 * const bytes = readBodyBytes(event);
 */
export function readBodyBytes(event: BodyEvent, binaryOffset = 0): Buffer {
  refuseContentEncoding(event);
  if (event.bytes) {
    const bytes = requireBytes(event.bytes);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  const raw = requireBody(event);
  const bytes = event.isBase64Encoded ? decodeBase64(raw, binaryOffset) : Buffer.from(raw, 'utf8');
  if (bytes.byteLength > MAX_REQUEST_BYTES) throw tooLarge();
  return bytes;
}

/**
 * Base64 text decoded into an aligned buffer of its own, cut to what was written (the byte length Node computes is
 * exact for well-formed base64 and an upper bound otherwise).
 */
function decodeBase64(text: string, binaryOffset: number): Buffer {
  const bytes = alignedBodyBuffer(Buffer.byteLength(text, 'base64'), binaryOffset);
  return bytes.subarray(0, bytes.write(text, 'base64'));
}

/**
 * The part of an event a body reader reads, as a plain object that crosses to a worker thread whole: the bytes of
 * a body passed as bytes (see `attachBodyBytes`) as an enumerable field, without their base64 form.
 *
 * @example
 * worker.postMessage({ body: bodyOf(event) });
 */
export function bodyOf(event: BodyEvent): BodyEvent {
  return event.bytes
    ? { body: null, isBase64Encoded: false, headers: event.headers, bytes: event.bytes }
    : { body: event.body, isBase64Encoded: event.isBase64Encoded, headers: event.headers };
}

/**
 * How long a body is in the characters of its event's `body` (base64 or text), without writing a base64 form of a
 * body passed as bytes: what size thresholds are stated in.
 */
export function bodyChars(event: BodyEvent): number {
  if (event.bytes) return Math.ceil(event.bytes.byteLength / 3) * 4;
  return event.body?.length ?? 0;
}

/**
 * Decodes JSON text sent as bytes: refused with a 400 naming the first bad byte unless it is UTF-8, as JSON
 * exchanged between systems must be (RFC 8259 §8.1); decoding it anyway would turn each bad byte into U+FFFD, so an
 * `id` or a BYTES element would come back altered. A leading byte order mark is dropped.
 *
 * @example
 * decodeUtf8Text(Buffer.from('{"id":"é"}'), 'request body'); // '{"id":"é"}'
 */
export function decodeUtf8Text(bytes: Uint8Array, what: string): string {
  if (!isUtf8(bytes)) {
    const offset = firstInvalidUtf8(bytes);
    const byte = (bytes[offset] ?? 0).toString(16).padStart(2, '0');
    throw new InvalidRequestError(
      `${what} is not valid UTF-8 at byte offset ${offset} (0x${byte}); send JSON as UTF-8`,
    );
  }
  return withoutByteOrderMark(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
}

/**
 * Refuses a body in any content coding but `identity` with a 415 that names it, before a byte of it is read (so
 * no error can quote compressed bytes). sluice decodes none: its REST API leaves `minimumCompressionSize` unset,
 * and API Gateway applies neither compression nor decompression then ("If the payload size is smaller than this
 * value, compression or decompression are not applied on the payload",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-enable-compression.html), so a gzip body
 * reaches the function as the client sent it, header and all; the local emulator passes it the same way. With
 * compression enabled, API Gateway itself answers 415 for a coding it cannot decode
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-make-request-with-compressed-payload.html).
 *
 * @example
 * refuseContentEncoding({ headers: { 'content-encoding': 'gzip' } }); // throws UnsupportedEncodingError
 */
export function refuseContentEncoding(event: Pick<APIGatewayProxyEvent, 'headers'>): void {
  const value = readHeader(event, 'content-encoding');
  if (value === undefined) return;
  const codings = value
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== IDENTITY_CODING);
  if (codings.length === 0) return;
  const shown =
    value.length > MAX_QUOTED_HEADER_CHARS ? `${value.slice(0, MAX_QUOTED_HEADER_CHARS)}...` : value;
  throw new UnsupportedEncodingError(
    `Content-Encoding ${JSON.stringify(shown)} is not supported: request bodies are not decompressed; send the body uncompressed (no Content-Encoding, or identity)`,
  );
}

function requireBody(event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>): string {
  const raw = event.body;
  if (raw === null || raw === undefined || raw === '')
    throw new InvalidRequestError('request body is required: a JSON object');
  const limit = event.isBase64Encoded ? (MAX_REQUEST_BYTES * 4) / 3 + BASE64_SLACK_CHARS : MAX_REQUEST_BYTES;
  if (raw.length > limit) throw tooLarge();
  return raw;
}

/** The bytes of a body passed as bytes, refused as {@link requireBody} refuses a text body. */
function requireBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength === 0) throw new InvalidRequestError('request body is required: a JSON object');
  if (bytes.byteLength > MAX_REQUEST_BYTES) throw tooLarge();
  return bytes;
}

function withoutByteOrderMark(text: string): string {
  return text.charCodeAt(0) === BYTE_ORDER_MARK ? text.slice(1) : text;
}

/**
 * The offset of the first byte that does not begin a well-formed UTF-8 sequence (Unicode's table 3-7: no overlong
 * forms, no surrogates, nothing beyond U+10FFFF); only called once `isUtf8` said there is one.
 */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let index = 0;
  while (index < bytes.length) {
    const lead = bytes[index] as number;
    if (lead < 0x80) {
      index++;
      continue;
    }
    const trailing =
      lead >= 0xc2 && lead <= 0xdf
        ? 1
        : lead >= 0xe0 && lead <= 0xef
          ? 2
          : lead >= 0xf0 && lead <= 0xf4
            ? 3
            : 0;
    if (trailing === 0) return index;
    // The second byte's range is narrower after E0 (overlong), ED (surrogates), F0 (overlong) and F4 (> U+10FFFF).
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
    const second = bytes[index + 1];
    if (second === undefined || second < low || second > high) return index;
    for (let next = 2; next <= trailing; next++) {
      const byte = bytes[index + next];
      if (byte === undefined || byte < 0x80 || byte > 0xbf) return index;
    }
    index += trailing + 1;
  }
  return bytes.length;
}

function tooLarge(): RequestTooLargeError {
  return new RequestTooLargeError(`request body is larger than ${MAX_REQUEST_BYTES} bytes`);
}
