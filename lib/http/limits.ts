/** Largest request body accepted, in bytes: Lambda's synchronous invocation payload limit is 6 MB. */
export const MAX_REQUEST_BYTES = 6 * 1024 * 1024;

/** Longest request `id` echoed back, in characters. */
export const MAX_REQUEST_ID_LENGTH = 256;

/** Most input tensors one request may carry. */
export const MAX_INPUT_TENSORS = 64;
