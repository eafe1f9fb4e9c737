/** The registry of a running local stack, as the bench's clients reach it: over S3, at the stack's endpoint. */
import { createS3Client } from '../lib/storage/create-s3-client.js';
import { ModelRegistry } from '../lib/storage/ModelRegistry.js';
import { S3ObjectStore } from '../lib/storage/S3ObjectStore.js';

/**
 * A registry over the S3 endpoint and bucket a local stack records (see `readLocalStackInfo`).
 *
 * @example
 * await publishVersion(stackRegistry(info), { name: 'iris', model: modelPath });
 */
export function stackRegistry(store: {
  readonly s3Endpoint: string;
  readonly bucket: string;
}): ModelRegistry {
  return new ModelRegistry({
    store: new S3ObjectStore({
      client: createS3Client({ region: 'us-east-1', endpoint: store.s3Endpoint }),
      bucket: store.bucket,
    }),
  });
}
