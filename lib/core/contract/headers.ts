/** Response headers sluice sets on every model response. */
export const ResponseHeader = {
  /** The model version that served (or refused) the request. */
  MODEL_VERSION: 'x-sluice-model-version',
  /** The model name. */
  MODEL: 'x-sluice-model',
  /** The request id, also found in the logs. */
  REQUEST_ID: 'x-request-id',
} as const;

/** One of the response header names sluice sets. */
export type ResponseHeader = (typeof ResponseHeader)[keyof typeof ResponseHeader];

/**
 * Binary tensor extension: the byte length of the JSON object at the start of a request or response body; the
 * binary tensor data follows it. On a request, 0 means the whole body is the raw data of the only input.
 */
export const INFERENCE_HEADER_CONTENT_LENGTH = 'inference-header-content-length';

/**
 * A request header's value, looked up without regard to case (API Gateway passes header names as the client
 * wrote them; Node lowercases them). Undefined when absent.
 *
 * @example
 * readHeader(event, 'content-type'); // 'application/json'
 */
export function readHeader(
  event: { readonly headers?: Readonly<Record<string, string | undefined>> | null },
  name: string,
): string | undefined {
  const headers = event.headers;
  if (!headers) return undefined;
  const exact = headers[name];
  if (exact !== undefined) return exact;
  for (const key of Object.keys(headers)) {
    if (key.length === name.length && key.toLowerCase() === name) return headers[key];
  }
  return undefined;
}
