/** A proxy event or result whose body the local stack passes as bytes (see {@link attachBodyBytes}). */
export interface WithBodyBytes {
  /** The body's bytes, on an event or result that carries them; not enumerable, so never serialised. */
  readonly bytes?: Uint8Array;
}

/**
 * Gives a proxy event or result its body as bytes, so the local stack passes bytes as bytes where API Gateway and
 * Lambda pass base64 text. `bytes` (not enumerable: JSON.stringify, a spread and structured cloning leave it out)
 * holds them; `body` becomes their base64 form with `isBase64Encoded` true, the contract of API Gateway's binary
 * media types ("the payload is converted to a Base64-encoded string",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html), written only
 * if something reads it. On Lambda nothing is attached: the runtime serialises a result with JSON.stringify, which
 * reads `body` like any property, so a result made here answers base64 there.
 *
 * The emulator attaches a request's bytes to its event and reads a result's bytes when they are there, so a
 * 4.9 MB binary tensor is neither base64-encoded nor decoded on its way in or out (the round trips cost about 25 ms
 * of the conv net's 45 ms outside ORT, issue 18).
 *
 * @example
 * const event = attachBodyBytes(buildProxyEvent({ method: 'POST', path, requestId, requestTimeEpoch }), bytes);
 * event.bytes === bytes; // true; event.body is base64, computed on first read
 */
export function attachBodyBytes<T extends { body?: string | null; isBase64Encoded?: boolean }>(
  target: T,
  bytes: Uint8Array,
): T & { readonly bytes: Uint8Array } {
  let text: string | undefined;
  Object.defineProperty(target, 'bytes', { value: bytes, enumerable: false });
  Object.defineProperty(target, 'body', {
    get: () => {
      text ??= Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
      return text;
    },
    enumerable: true,
    configurable: true,
  });
  Object.defineProperty(target, 'isBase64Encoded', { value: true, enumerable: true, writable: true });
  return target as T & { readonly bytes: Uint8Array };
}
