/**
 * A proxy event or result whose body the local stack passes as bytes: an event `buildProxyEvent` made from bytes
 * (the emulator's), or a result {@link attachBodyBytes} gave them to.
 */
export interface WithBodyBytes {
  /** The body's bytes; `body` is their base64 form, written only if something reads it. */
  readonly bytes?: Uint8Array;
}

/**
 * Gives a proxy result its body as bytes, so the local stack answers bytes as bytes where Lambda and API Gateway
 * pass base64 text. `bytes` (not enumerable: JSON.stringify, a spread and structured cloning leave it out) holds
 * them; `body` becomes their base64 form with `isBase64Encoded` true, the contract of API Gateway's binary media
 * types ("the payload is converted to a Base64-encoded string",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html), written only
 * if something reads it. On Lambda the runtime serialises a result with JSON.stringify, which reads `body` like any
 * property, so a result made here answers base64 there.
 *
 * The emulator answers a result's bytes when it has them, and hands the handler a request's bytes the same way (see
 * `buildProxyEvent`'s `bytes`), so a 4.9 MB binary tensor is neither base64-encoded nor decoded on its way in or out
 * (the round trips cost about 25 ms of the conv net's 45 ms outside ORT, issue 18).
 *
 * @example
 * const result = attachBodyBytes({ statusCode: 200, headers: {}, body: '', isBase64Encoded: true }, bytes);
 * result.bytes === bytes; // true; JSON.stringify(result) writes body as base64, and no bytes
 */
export function attachBodyBytes<T extends { body?: string | null; isBase64Encoded?: boolean }>(
  target: T,
  bytes: Uint8Array,
): T & { readonly bytes: Uint8Array } {
  let text: string | undefined;
  Object.defineProperty(target, 'bytes', { value: bytes, enumerable: false, configurable: true });
  Object.defineProperty(target, 'body', {
    get: () => {
      text ??= Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
      return text;
    },
    // A body written over it replaces the bytes' base64 form (the bytes stay for the emulator only if unchanged).
    set: (value: string) => {
      text = value;
      Object.defineProperty(target, 'bytes', { value: undefined });
    },
    enumerable: true,
    configurable: true,
  });
  Object.defineProperty(target, 'isBase64Encoded', { value: true, enumerable: true, writable: true });
  return target as T & { readonly bytes: Uint8Array };
}
