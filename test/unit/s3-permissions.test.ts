import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { VersionNotFoundError } from '../../lib/core/errors/model-errors.js';
import { ModelRegistry } from '../../lib/storage/ModelRegistry.js';
import { S3ObjectStore } from '../../lib/storage/S3ObjectStore.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/**
 * S3 as a role sees it that holds `s3:GetObject` on the registry's keys and `s3:ListBucket` only under an
 * `s3:prefix` condition (sluice's grants): a GetObject of a missing key is 403 AccessDenied, not 404, because
 * "If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP status code 403 ("access denied")"
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html), and a GetObject carries no `s3:prefix` to
 * satisfy the condition; a listing whose prefix is under the granted one is allowed. The embedded S3 server has no
 * IAM, so these rules are mocked here.
 */
function s3As(keys: readonly string[], options: { readonly listDenied?: boolean } = {}) {
  const client = new S3Client({ region: 'eu-west-1' });
  const mock = mockClient(client);
  const denied = () =>
    new S3ServiceException({
      name: 'AccessDenied',
      message: 'Access Denied',
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
    });
  // Every GetObject is denied: for a missing key, as S3 answers a role without an unconditional ListBucket; for a
  // key that exists, as for a role whose GetObject grant does not cover it.
  mock.on(GetObjectCommand).callsFake(() => {
    throw denied();
  });
  mock.on(ListObjectsV2Command).callsFake(({ Prefix }: { Prefix: string }) => {
    if (options.listDenied) throw denied();
    return { Contents: keys.filter((key) => key.startsWith(Prefix)).map((Key) => ({ Key })), KeyCount: 0 };
  });
  return { store: new S3ObjectStore({ client, bucket: 'registry' }), mock };
}

describe('S3ObjectStore: a 403 for a missing key is a missing key, a 403 for a key that is there is a failure', () => {
  it('reads a missing key as undefined after a listing of the key finds nothing', async () => {
    const { store, mock } = s3As(['models/iris/1/manifest.json']);
    assert.equal(await store.get('models/iris/2/manifest.json'), undefined);
    assert.deepEqual(mock.commandCalls(ListObjectsV2Command)[0]?.args[0].input, {
      Bucket: 'registry',
      Prefix: 'models/iris/2/manifest.json',
      MaxKeys: 1,
    });
    assert.equal(await store.getRange('models/iris/2/model.onnx', 0, 10), undefined);
  });

  it('keeps the 403 when the key exists (access really is denied) or the listing is denied too', async () => {
    await assert.rejects(s3As(['models/iris/1/manifest.json']).store.get('models/iris/1/manifest.json'), {
      name: 'AccessDenied',
    });
    await assert.rejects(s3As([], { listDenied: true }).store.get('models/iris/2/manifest.json'), {
      name: 'AccessDenied',
    });
  });

  it('so the registry says "version not found" for an unpublished version, not a store failure', async () => {
    const { store } = s3As(['models/iris/1/manifest.json', 'models/iris/1/model.onnx']);
    const registry = new ModelRegistry({ store });
    await assert.rejects(registry.getManifest('iris', 2), VersionNotFoundError);
  });
});
