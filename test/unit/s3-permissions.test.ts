import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VersionNotFoundError } from '../../lib/core/errors/model-errors.js';
import { ModelRegistry } from '../../lib/storage/ModelRegistry.js';
import { S3ObjectStore } from '../../lib/storage/S3ObjectStore.js';
import { FakeS3Bucket, type S3Grants } from '../fixtures/fake-aws-control-plane.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** What RegistryBucket's `grantReadModel(role, 'iris')` gives: GetObject and a prefix-conditioned ListBucket. */
const IRIS_READER: S3Grants = { getObject: ['models/iris/'], listBucket: ['models/iris/'] };

/** The registry bucket with iris v1 published, as a role with `grants` sees it. */
function registryAs(grants: S3Grants) {
  const bucket = new FakeS3Bucket('registry', grants);
  bucket.put('models/iris/1/manifest.json', '{"name":"iris"}');
  bucket.put('models/iris/1/model.onnx', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
  bucket.put('models/digits/1/manifest.json', '{"name":"digits"}');
  return { bucket, store: new S3ObjectStore({ client: bucket.client, bucket: 'registry' }) };
}

describe('S3ObjectStore: a 403 for a missing key is a missing key, a 403 for a key that is there is a failure', () => {
  it('reads what the role may read, whole or in ranges', async () => {
    const { store } = registryAs(IRIS_READER);
    assert.equal(new TextDecoder().decode(await store.get('models/iris/1/manifest.json')), '{"name":"iris"}');
    const range = await store.getRange('models/iris/1/model.onnx', 2, 3);
    assert.equal(range?.total, 8);
  });

  it('reads a missing key as undefined after a listing of the key finds nothing', async () => {
    const { store, bucket } = registryAs(IRIS_READER);
    assert.equal(await store.get('models/iris/2/manifest.json'), undefined);
    assert.deepEqual(
      bucket.journal.map(([command]) => command),
      ['GetObject', 'ListObjectsV2'],
    );
    assert.deepEqual(bucket.journal[1]?.[1], {
      Bucket: 'registry',
      Prefix: 'models/iris/2/manifest.json',
      MaxKeys: 1,
    });
    assert.equal(await store.getRange('models/iris/2/model.onnx', 0, 10), undefined);
  });

  it('reads a 404 as missing without a listing when the role holds ListBucket on the whole bucket', async () => {
    const { store, bucket } = registryAs({ getObject: ['models/'], listBucket: 'any' });
    assert.equal(await store.get('models/iris/2/manifest.json'), undefined);
    assert.deepEqual(
      bucket.journal.map(([command]) => command),
      ['GetObject'],
    );
  });

  it('keeps the 403 when the key exists (access really is denied) or the listing is denied too', async () => {
    await assert.rejects(registryAs(IRIS_READER).store.get('models/digits/1/manifest.json'), {
      name: 'AccessDenied',
    });
    await assert.rejects(
      registryAs({ getObject: ['models/iris/'], listBucket: 'none' }).store.get(
        'models/iris/2/manifest.json',
      ),
      { name: 'AccessDenied' },
    );
  });

  it('so the registry says "version not found" for an unpublished version, not a store failure', async () => {
    const registry = new ModelRegistry({ store: registryAs(IRIS_READER).store });
    await assert.rejects(registry.getManifest('iris', 2), VersionNotFoundError);
  });
});
