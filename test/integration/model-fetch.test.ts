import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ChecksumMismatchError } from '../../lib/core/errors/model-errors.js';
import { LocalObjectStore } from '../../lib/local/LocalObjectStore.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { FETCH_PART_BYTES, ModelRegistry } from '../../lib/storage/ModelRegistry.js';
import { paddedIdentityModel } from '../fixtures/models.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

describe('ModelRegistry.fetchModel: big models arrive in parallel ranges, hashed as they come, verified', () => {
  let home: string;
  let store: LocalObjectStore;
  let registry: ModelRegistry;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'sluice-fetch-'));
    store = await LocalObjectStore.start({ directory: join(home, 's3'), port: 0 });
    registry = new ModelRegistry({ store: store.objects() });
  });
  after(async () => {
    await store.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('returns the exact bytes of a model several ranges long (and of a one-range model)', async () => {
    for (const paddingBytes of [2 * FETCH_PART_BYTES + 4096, 1024]) {
      const model = paddedIdentityModel({ graphName: `padded${paddingBytes}`, paddingBytes });
      const manifest = await publishVersion(registry, { name: 'padded', model });
      const fetched = await registry.fetchModel('padded', manifest.version);
      assert.equal(fetched.bytes.byteLength, model.byteLength);
      assert.ok(Buffer.from(fetched.bytes).equals(Buffer.from(model)));
      assert.equal(createHash('sha256').update(fetched.bytes).digest('hex'), manifest.sha256);
    }
  });

  it('refuses bytes whose size or sha256 differ from the manifest', async () => {
    const model = paddedIdentityModel({ graphName: 'tampered', paddingBytes: FETCH_PART_BYTES + 100 });
    const manifest = await publishVersion(registry, { name: 'tampered', model });
    const key = `models/tampered/${manifest.version}/model.onnx`;
    const client = store.createClient();
    const put = (body: Uint8Array) =>
      client.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: body }));
    const cases: [Uint8Array, RegExp][] = [
      [
        Uint8Array.from(model, (byte, index) => (index === model.byteLength - 1 ? byte ^ 1 : byte)),
        /sha256 mismatch/,
      ],
      [model.subarray(0, model.byteLength - 1), /sha256 mismatch .* an object of/],
      [new Uint8Array([...model, 0]), /an object of/],
    ];
    for (const [body, error] of cases) {
      // An unconditional PUT, as someone with write access to the bucket could do.
      await put(body);
      const current = await registry.fetchModel('tampered', manifest.version).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      assert.ok(current instanceof ChecksumMismatchError, String(current));
      assert.match(current.message, error);
    }
  });
});
