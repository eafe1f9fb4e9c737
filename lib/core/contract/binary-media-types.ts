/**
 * Content types of the binary tensor extension, and what API Gateway must treat as binary.
 *
 * API Gateway (REST, Lambda proxy) base64-encodes a request body whose Content-Type matches one of the API's
 * binary media types (`isBase64Encoded: true` in the event), and turns a base64 result (`isBase64Encoded: true`)
 * back into bytes when the request's Accept header matches one. Anything else passes as UTF-8 text, which
 * corrupts binary tensors. tritonclient sends neither header, so only `*\/*` covers every client; with it, JSON
 * bodies arrive base64-encoded too, which the handler decodes.
 */

/** Content type of a request or response that carries binary tensor data (Triton and KServe use it too). */
export const BINARY_CONTENT_TYPE = 'application/octet-stream';

/** The binary media types the REST API must declare so binary tensors reach the function unaltered. */
export const BINARY_MEDIA_TYPES = ['*/*'] as const;

/** True when a Content-Type header names binary data (`application/octet-stream`, parameters ignored). */
export function isBinaryContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semicolon = contentType.indexOf(';');
  const type = (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  return type === BINARY_CONTENT_TYPE;
}
