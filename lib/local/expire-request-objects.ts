import { DeleteObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { REQUEST_OBJECT_EXPIRY_DAYS, REQUESTS_PREFIX } from '../core/contract/tensor-objects.js';

/** A day, in milliseconds. */
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The local stack's stand-in for the lifecycle rule of `requests/` on AWS (RegistryBucket's `RequestObjects`): deletes
 * the objects of tensors sent by reference last written more than {@link REQUEST_OBJECT_EXPIRY_DAYS} before `now`
 * (uploads never used, outputs never fetched), so the embedded store does not keep them for ever. The local stack
 * runs it when it starts; S3 runs the rule once a day. Returns the keys it deleted.
 *
 * @example
 * const expired = await expireRequestObjects(store.createClient(), store.bucket, Date.now());
 */
export async function expireRequestObjects(client: S3Client, bucket: string, now: number): Promise<string[]> {
  const before = now - REQUEST_OBJECT_EXPIRY_DAYS * DAY_MS;
  const expired: string[] = [];
  for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: REQUESTS_PREFIX })) {
    for (const object of page.Contents ?? []) {
      if (object.Key && object.LastModified && object.LastModified.getTime() < before)
        expired.push(object.Key);
    }
  }
  for (const key of expired) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  return expired;
}
