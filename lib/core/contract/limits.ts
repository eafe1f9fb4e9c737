/** Largest request body accepted, in bytes: Lambda's synchronous invocation payload limit is 6 MB. */
export const MAX_REQUEST_BYTES = 6 * 1024 * 1024;

/** Longest request `id` echoed back, in characters. */
export const MAX_REQUEST_ID_LENGTH = 256;

/** Most input tensors one request may carry. */
export const MAX_INPUT_TENSORS = 64;

/**
 * Largest response body sent, in bytes (base64 text for binary responses). Lambda's synchronous response payload
 * limit is 6 MB for the whole proxy result; 64 KiB are left for the headers and the result's JSON envelope.
 */
export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024 - 64 * 1024;

/**
 * Most binary tensor bytes one request can carry on AWS: API Gateway hands binary bodies to Lambda base64-encoded
 * (4 bytes of text per 3 of data), and the event must fit Lambda's 6 MB payload limit. Locally the emulator passes
 * bodies up to {@link MAX_REQUEST_BYTES} of binary data.
 */
export const MAX_AWS_BINARY_REQUEST_BYTES = Math.floor((MAX_REQUEST_BYTES * 3) / 4) - 16 * 1024;
