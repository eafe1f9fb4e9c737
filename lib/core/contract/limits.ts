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
 * Most body bytes one request can carry on AWS, JSON or binary: the API's binary media types include the wildcard
 * of every media type, which "includes all content types"
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html), so API Gateway
 * hands every body to Lambda base64-encoded (4 bytes of text per 3), and the event must fit Lambda's 6 MB payload
 * limit. Locally the emulator passes bodies up to {@link MAX_REQUEST_BYTES}.
 */
export const MAX_AWS_REQUEST_BYTES = Math.floor((MAX_REQUEST_BYTES * 3) / 4) - 16 * 1024;
