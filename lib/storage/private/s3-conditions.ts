import { S3ServiceException } from '@aws-sdk/client-s3';

/**
 * S3 answers a write with `If-None-Match: *` to an existing key with 412 PreconditionFailed, and one that
 * races another conditional write of the same key with 409 ConditionalRequestConflict.
 */
export function isKeyTaken(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) {
    return false;
  }
  return (
    error.name === 'PreconditionFailed' ||
    error.name === 'ConditionalRequestConflict' ||
    error.$metadata.httpStatusCode === 412
  );
}

/** Only a missing key: a missing bucket (also a 404) is a broken deployment and propagates. */
export function isNoSuchKey(error: unknown): boolean {
  return error instanceof S3ServiceException && error.name === 'NoSuchKey';
}
