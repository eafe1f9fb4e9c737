import * as z from 'zod';
import { ObjectReferenceError } from '../errors/request-errors.js';
import { MODEL_NAME_PATTERN } from '../manifest/ModelManifest.js';
import { MAX_INPUT_TENSORS } from './limits.js';

/**
 * Tensors by reference: inputs and outputs larger than a Lambda payload travel as S3 objects under a request prefix
 * of the registry bucket, uploaded and downloaded through presigned URLs, in the spirit of Triton's shared-memory
 * extension (an input names a region instead of carrying `data`). The wire names, the key layout and the limits are
 * declared once here: the function, the local stack and the CDK (IAM, lifecycle) all read them.
 */

/**
 * Key prefix of every request object in the registry bucket: `requests/MODEL/ID`. A lifecycle rule expires it (the
 * CDK's RegistryBucket), and a model's function may read, write and delete under its own model's prefix only.
 */
export const REQUESTS_PREFIX = 'requests/';

/** The parameter that names an input's object (on an input) or asks for an output by reference (on an output). */
export const SLUICE_OBJECT_PARAMETER = 'sluice_object';

/** The request parameter that sends outputs by reference: `true` every output, `"auto"` those that would not fit. */
export const SLUICE_OBJECT_OUTPUT_PARAMETER = 'sluice_object_output';

/** The output parameters of an output answered by reference, besides {@link SLUICE_OBJECT_PARAMETER}. */
export const ObjectOutputParameter = {
  /** A presigned GET URL of the object. */
  URL: 'sluice_object_url',
  /** When that URL stops working (ISO 8601). */
  EXPIRES_AT: 'sluice_object_expires_at',
  /** The object's size in bytes: the tensor's raw little-endian row-major bytes, as the binary tensor extension. */
  BYTE_SIZE: 'sluice_object_byte_size',
} as const;

/**
 * How long a presigned URL sluice hands out is valid, in seconds, unless the function's environment says otherwise:
 * long enough to upload a large tensor over a slow link, short enough that a leaked URL soon stops working. A URL
 * signed with temporary credentials stops working when they expire, whichever comes first
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html#PresignedUrl-Expiration).
 */
export const DEFAULT_OBJECT_URL_SECONDS = 900;

/**
 * Longest lifetime of a presigned URL a function may be configured with: SigV4 query-string authentication takes
 * `X-Amz-Expires` up to 604800 seconds, 7 days
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html); sluice keeps to 12 hours, well
 * inside the objects' day of life. On Lambda the SDK reads the role's credentials from the environment, which says
 * nothing of their expiry, so `expires_at` there is the URL's own expiry: an upper bound, since a URL signed with a
 * session's credentials also stops when they do.
 */
export const MAX_OBJECT_URL_SECONDS = 12 * 60 * 60;

/**
 * Days after which S3 expires a request object nobody deleted (an upload never used, an output never fetched).
 * Lifecycle expiration counts in whole days, a "non-zero positive integer"
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleExpiration.html), and S3 rounds the expiry to the
 * next midnight UTC (https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html). The
 * registry bucket is versioned: an expiration (or sluice's own delete, which names no version) only adds a delete
 * marker, and the bytes stay as a noncurrent version until the rule's noncurrent expiration (one more day, rounded
 * the same way), and S3 removes expired objects asynchronously, after a delay of its own
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html): the bytes of
 * an object nobody deleted last about two to four days, those of a deleted one one to two days, plus that delay.
 */
export const REQUEST_OBJECT_EXPIRY_DAYS = 1;

/**
 * Largest tensor sent by reference, in bytes (1 GiB): the function holds it in memory whole (up to 10,240 MB,
 * https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), beside the model and its outputs. Today
 * the element limit of every tensor (`MAX_TENSOR_ELEMENTS`, 16 Mi) binds first: 64 MiB of FP32, 128 MiB of INT64.
 */
export const MAX_OBJECT_TENSOR_BYTES = 1024 * 1024 * 1024;

/** Random part of an object's id: 128 bits, lowercase hex. */
const OBJECT_ID_PATTERN = /^[0-9a-f]{32}$/;

/** Longest reference quoted back in an error message, in characters. */
const MAX_QUOTED_REFERENCE_CHARS = 80;

/** One tensor a client wants to upload: its name, datatype and shape, checked against the model's signature. */
export const UploadTensorSchema = z.strictObject({
  name: z.string().min(1),
  datatype: z.string(),
  shape: z.unknown(),
});
/** One tensor a client wants to upload. */
export type UploadTensor = z.infer<typeof UploadTensorSchema>;

/** The body of `POST /v2/models/{m}/uploads`: the inputs to upload, as a V2 request would name them without data. */
export const UploadsRequestSchema = z.strictObject({
  inputs: z.array(UploadTensorSchema).min(1).max(MAX_INPUT_TENSORS),
});
/** The body of `POST /v2/models/{m}/uploads`. */
export type UploadsRequest = z.infer<typeof UploadsRequestSchema>;

/** One upload sluice answers with: where to PUT the input's bytes and what to name it by in the inference request. */
export const UploadTicketSchema = z.strictObject({
  /** The input it is for. */
  name: z.string(),
  /** What the inference request names in `parameters.sluice_object`. */
  object: z.string(),
  /** The presigned URL. */
  url: z.string(),
  /** Always PUT. */
  method: z.literal('PUT'),
  /** Headers the upload must carry exactly (the signed `content-length`). */
  headers: z.record(z.string(), z.string()),
  /** The bytes to upload: the datatype's size times the shape's element count. */
  byte_size: z.number().int().min(0),
  /** When the URL stops working (ISO 8601). */
  expires_at: z.string(),
});
/** One upload sluice answers with. */
export type UploadTicket = z.infer<typeof UploadTicketSchema>;

/** The answer of `POST /v2/models/{m}/uploads`: one ticket per input asked for, in the order asked. */
export const UploadsResponseSchema = z.strictObject({
  model_name: z.string(),
  model_version: z.string(),
  uploads: z.array(UploadTicketSchema),
});
/** The answer of `POST /v2/models/{m}/uploads`. */
export type UploadsResponse = z.infer<typeof UploadsResponseSchema>;

/** `requests/MODEL/`: the prefix of one model's request objects. */
export function requestObjectPrefix(model: string): string {
  return `${REQUESTS_PREFIX}${model}/`;
}

/**
 * A new object reference, `MODEL/ID`, from 16 random bytes in hex: the model is part of it so that naming another
 * model's object is told apart from naming one that does not exist.
 *
 * @example
 * newObjectReference('isnet', 'f'.repeat(32)); // 'isnet/ffffffffffffffffffffffffffffffff'
 */
export function newObjectReference(model: string, randomHex: string): string {
  if (!MODEL_NAME_PATTERN.test(model) || !OBJECT_ID_PATTERN.test(randomHex)) {
    throw new Error(
      `not an object reference: model ${JSON.stringify(model)}, id ${JSON.stringify(randomHex)}`,
    );
  }
  return `${model}/${randomHex}`;
}

/**
 * The store key of a reference a client sent for `model`: `requests/MODEL/ID`. A reference that is not one sluice
 * hands out, or one made for another model, is refused with an {@link ObjectReferenceError} that says which: the key
 * is built from the route's model, never from what the client wrote, so no reference reaches another prefix.
 *
 * @example
 * objectKey('isnet', 'isnet/0123456789abcdef0123456789abcdef'); // 'requests/isnet/0123456789abcdef0123456789abcdef'
 */
export function objectKey(model: string, reference: string, what = 'the object reference'): string {
  const slash = reference.indexOf('/');
  const owner = slash < 0 ? '' : reference.slice(0, slash);
  const id = slash < 0 ? '' : reference.slice(slash + 1);
  if (!MODEL_NAME_PATTERN.test(owner) || !OBJECT_ID_PATTERN.test(id)) {
    throw new ObjectReferenceError(
      `${what} ${quote(reference)} is not one sluice hands out: expected MODEL/ID as POST /v2/models/${model}/uploads answers in "object"`,
    );
  }
  if (owner !== model) {
    throw new ObjectReferenceError(
      `${what} ${quote(reference)} was uploaded for model "${owner}", not "${model}": ask POST /v2/models/${model}/uploads for an upload URL of this model`,
    );
  }
  return `${requestObjectPrefix(model)}${id}`;
}

function quote(reference: string): string {
  return JSON.stringify(
    reference.length > MAX_QUOTED_REFERENCE_CHARS
      ? `${reference.slice(0, MAX_QUOTED_REFERENCE_CHARS)}...`
      : reference,
  );
}
