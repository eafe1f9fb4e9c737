import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  ChecksumMismatchError,
  InvalidManifestError,
  InvalidModelError,
  ModelNotFoundError,
  PublishAbortedError,
  VersionNotFoundError,
} from '../../lib/core/errors/model-errors.js';
import { SluiceError } from '../../lib/core/errors/SluiceError.js';
import type { PublishExtras } from '../../lib/core/manifest/ModelManifest.js';
import {
  CLAIM_OBJECT,
  MANIFEST_OBJECT,
  MODEL_OBJECT,
  versionKey,
} from '../../lib/core/manifest/registry-layout.js';
import { LocalObjectStore } from '../../lib/local/LocalObjectStore.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { ModelRegistry } from '../../lib/storage/ModelRegistry.js';
import { BodyChangedError, type StreamedBody } from '../../lib/storage/ObjectStore.js';
import {
  MULTIPART_PART_BYTES,
  MULTIPART_QUEUE_SIZE,
  MULTIPART_THRESHOLD_BYTES,
  S3ObjectStore,
} from '../../lib/storage/S3ObjectStore.js';
import { paddedIdentityModel as identityModel } from '../fixtures/models.js';

const GOLDEN: PublishExtras = {
  labels: ['a', 'b', 'c', 'd'],
  description: 'echoes its input',
  goldenExamples: [
    {
      inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }],
      outputs: [{ name: 'y', shape: [1, 4], datatype: 'FP32', data: [[1, 2, 3, 4]] }],
      tolerance: 0,
    },
  ],
};

/** Records the name of every command the client sends. */
function countCommands(client: S3Client): { client: S3Client; sent: string[] } {
  const sent: string[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize' },
  );
  return { client, sent };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('ModelRegistry: versions in a real S3-compatible store', () => {
  let directory: string;
  let store: LocalObjectStore;
  let client: S3Client;
  let registry: ModelRegistry;

  /** Every key under `models/NAME/`, straight from the store. */
  async function keysOf(name: string): Promise<string[]> {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: store.bucket, Prefix: `models/${name}/` }),
    );
    return (page.Contents ?? []).flatMap((object) => (object.Key ? [object.Key] : []));
  }

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'sluice-registry-'));
    store = await LocalObjectStore.start({ directory: join(directory, 's3') });
    client = store.createClient();
    registry = new ModelRegistry({ store: new S3ObjectStore({ client, bucket: store.bucket }) });
  });

  after(async () => {
    await store.stop();
    await rm(directory, { recursive: true, force: true });
  });

  describe('ModelRegistry: publish writes a manifest that describes the bytes', () => {
    it('records sha256, size, the signature with -1 for dynamic dims, extras and createdAt', async () => {
      const bytes = identityModel();
      const createdAt = new Date('2026-01-02T03:04:05.000Z');
      const manifest = await publishVersion(registry, {
        name: 'echo',
        model: bytes,
        extras: GOLDEN,
        createdAt,
      });

      assert.equal(manifest.schemaVersion, 1);
      assert.equal(manifest.name, 'echo');
      assert.equal(manifest.version, 1);
      assert.equal(manifest.sha256, sha256(bytes));
      assert.equal(manifest.size, bytes.byteLength);
      assert.equal(manifest.createdAt, createdAt.toISOString());
      assert.deepEqual(manifest.inputs, [
        { name: 'x', datatype: 'FP32', shape: [-1, 4], dimNames: ['batch', null] },
      ]);
      assert.deepEqual(manifest.outputs, [
        { name: 'y', datatype: 'FP32', shape: [-1, 4], dimNames: ['batch', null] },
      ]);
      assert.deepEqual(manifest.labels, GOLDEN.labels);
      assert.equal(manifest.description, GOLDEN.description);
      assert.deepEqual(manifest.goldenExamples, GOLDEN.goldenExamples);
      assert.deepEqual(manifest.onnx, {
        irVersion: 8,
        producerName: 'sluice-tests',
        producerVersion: '1.0',
        opsetVersion: 17,
      });
    });

    it('lists, resolves and fetches what it published', async () => {
      const bytes = identityModel();
      assert.deepEqual(await registry.listModels(), ['echo']);
      assert.deepEqual(await registry.listVersions('echo'), [1]);
      assert.equal(await registry.latestVersion('echo'), 1);
      const manifest = await registry.getManifest('echo', 1);
      const fetched = await registry.fetchModel('echo', 1);
      assert.deepEqual(fetched.manifest, manifest);
      assert.deepEqual(Buffer.from(fetched.bytes), Buffer.from(bytes));
    });

    it('reads the model from a file path', async () => {
      const path = join(directory, 'model.onnx');
      const bytes = identityModel({ graphName: 'from-file' });
      await writeFile(path, bytes);
      const example = {
        inputs: [{ name: 'x', shape: [0, 4], data: [] }],
        outputs: [{ name: 'y', shape: [0, 4], data: [] }],
      };
      const manifest = await publishVersion(registry, {
        name: 'from-file',
        model: path,
        extras: { goldenExamples: [{ ...example, tolerance: 1e-4 }] },
      });
      assert.equal(manifest.sha256, sha256(bytes));
      assert.equal(manifest.goldenExamples?.[0]?.tolerance, 1e-4);
    });

    it('numbers versions 1, 2, 3 in publishing order', async () => {
      const versions: number[] = [];
      for (const graphName of ['one', 'two', 'three']) {
        versions.push(
          (await publishVersion(registry, { name: 'counted', model: identityModel({ graphName }) })).version,
        );
      }
      assert.deepEqual(versions, [1, 2, 3]);
      assert.deepEqual(await registry.listVersions('counted'), [1, 2, 3]);
      assert.equal(await registry.latestVersion('counted'), 3);
    });

    it('reports progress for a small model once, at the end', async () => {
      const bytes = identityModel({ graphName: 'small' });
      const events: [number, number][] = [];
      await publishVersion(registry, {
        name: 'small',
        model: bytes,
        onProgress: (loaded, total) => events.push([loaded, total]),
      });
      assert.deepEqual(events, [[bytes.byteLength, bytes.byteLength]]);
    });
  });

  describe('ModelRegistry: concurrent publishes of one model get distinct versions', () => {
    it('gives 12 racing publishes versions 1..12, each manifest matching its own bytes', async () => {
      const models = Array.from({ length: 12 }, (_, racer) => identityModel({ graphName: `racer-${racer}` }));
      const manifests = await Promise.all(
        models.map((model) => publishVersion(registry, { name: 'raced', model })),
      );

      assert.deepEqual(
        manifests.map((manifest) => manifest.version).sort((a, b) => a - b),
        Array.from({ length: 12 }, (_, index) => index + 1),
      );
      manifests.forEach((manifest, racer) => {
        assert.equal(manifest.sha256, sha256(models[racer] ?? new Uint8Array()));
      });
      assert.deepEqual(
        await registry.listVersions('raced'),
        Array.from({ length: 12 }, (_, index) => index + 1),
      );
      for (const [racer, manifest] of manifests.entries()) {
        const fetched = await registry.fetchModel('raced', manifest.version);
        assert.deepEqual(Buffer.from(fetched.bytes), Buffer.from(models[racer] ?? new Uint8Array()));
      }
    });
  });

  describe('ModelRegistry: bad models are refused before anything is written', () => {
    it('refuses a file that is not ONNX', async () => {
      const notOnnx = new TextEncoder().encode('{"this": "is JSON, not a model"}');
      await assert.rejects(publishVersion(registry, { name: 'not-onnx', model: notOnnx }), InvalidModelError);
      assert.deepEqual(await keysOf('not-onnx'), []);
    });

    it('refuses a truncated ONNX file', async () => {
      const bytes = identityModel();
      await assert.rejects(
        publishVersion(registry, {
          name: 'truncated',
          model: bytes.subarray(0, Math.floor(bytes.byteLength / 2)),
        }),
        InvalidModelError,
      );
      assert.deepEqual(await keysOf('truncated'), []);
    });

    it('refuses golden examples that name an unknown input', async () => {
      const extras: PublishExtras = {
        goldenExamples: [
          {
            inputs: [{ name: 'not-an-input', shape: [1, 4], data: [1, 2, 3, 4] }],
            outputs: [{ name: 'y', shape: [1, 4], data: [1, 2, 3, 4] }],
            tolerance: 0,
          },
        ],
      };
      await assert.rejects(
        publishVersion(registry, { name: 'bad-golden', model: identityModel(), extras }),
        (error: unknown) => {
          assert.ok(error instanceof InvalidModelError);
          assert.match(error.message, /"not-an-input" is not in the graph/);
          return true;
        },
      );
      assert.deepEqual(await keysOf('bad-golden'), []);
    });

    it('refuses golden examples whose shape does not fit the graph', async () => {
      const extras: PublishExtras = {
        goldenExamples: [
          {
            inputs: [{ name: 'x', shape: [1, 3], data: [1, 2, 3] }],
            outputs: [{ name: 'y', shape: [1, 4], data: [1, 2, 3, 4] }],
            tolerance: 0,
          },
        ],
      };
      await assert.rejects(
        publishVersion(registry, { name: 'bad-shape', model: identityModel(), extras }),
        InvalidModelError,
      );
      assert.deepEqual(await keysOf('bad-shape'), []);
    });

    it('refuses a model name that cannot be a key', async () => {
      await assert.rejects(
        publishVersion(registry, { name: '../Escape', model: identityModel() }),
        SluiceError,
      );
    });
  });

  describe('ModelRegistry: bytes that do not match the manifest are never returned', () => {
    it('refuses a model.onnx overwritten behind the registry', async () => {
      const manifest = await publishVersion(registry, { name: 'tampered', model: identityModel() });
      await client.send(
        new PutObjectCommand({
          Bucket: store.bucket,
          Key: versionKey('tampered', manifest.version, MODEL_OBJECT),
          Body: identityModel({ graphName: 'evil' }),
        }),
      );
      await assert.rejects(registry.fetchModel('tampered', manifest.version), ChecksumMismatchError);
    });

    it('refuses a manifest that does not parse', async () => {
      await publishVersion(registry, { name: 'garbled', model: identityModel() });
      await client.send(
        new PutObjectCommand({
          Bucket: store.bucket,
          Key: versionKey('garbled', 1, MANIFEST_OBJECT),
          Body: JSON.stringify({ name: 'garbled', version: 1 }),
        }),
      );
      await assert.rejects(registry.getManifest('garbled', 1), InvalidManifestError);
      await assert.rejects(registry.fetchModel('garbled', 1), InvalidManifestError);
    });
  });

  describe('ModelRegistry: large models upload in parts', () => {
    it('uploads a model above the threshold in parts, with progress rising to the total', async () => {
      const bytes = identityModel({ paddingBytes: MULTIPART_THRESHOLD_BYTES + MULTIPART_PART_BYTES / 2 });
      const commands = countCommands(store.createClient());
      const large = new ModelRegistry({
        store: new S3ObjectStore({ client: commands.client, bucket: store.bucket }),
      });
      const events: [number, number][] = [];
      const manifest = await publishVersion(large, {
        name: 'large',
        model: bytes,
        onProgress: (loaded, total) => events.push([loaded, total]),
      });

      assert.equal(commands.sent.filter((command) => command === 'UploadPartCommand').length, 2);
      assert.ok(commands.sent.includes('CompleteMultipartUploadCommand'));
      assert.ok(events.length >= 2, `expected several progress events, got ${events.length}`);
      for (const [index, [loaded, total]] of events.entries()) {
        assert.equal(total, bytes.byteLength);
        assert.ok(index === 0 || loaded > (events[index - 1]?.[0] ?? 0), 'progress only rises');
      }
      assert.deepEqual(events.at(-1), [bytes.byteLength, bytes.byteLength]);

      const fetched = await registry.fetchModel('large', manifest.version);
      assert.equal(fetched.bytes.byteLength, bytes.byteLength);
      assert.equal(sha256(fetched.bytes), sha256(bytes));
    });

    it('aborts a multipart upload when its signal fires: the parts are deleted and no version is published', async () => {
      const bytes = identityModel({
        graphName: 'aborted',
        paddingBytes: MULTIPART_THRESHOLD_BYTES + MULTIPART_PART_BYTES / 2,
      });
      const stop = new AbortController();
      await assert.rejects(
        publishVersion(registry, {
          name: 'aborted',
          model: bytes,
          signal: stop.signal,
          // Stop once the first part is in the store.
          onProgress: (loaded, total) => {
            if (loaded < total) stop.abort();
          },
        }),
        (error: unknown) => {
          assert.ok(error instanceof PublishAbortedError, String(error));
          assert.match(error.message, /uploaded parts were deleted and nothing was published/);
          return true;
        },
      );
      assert.deepEqual(await keysOf('aborted'), [versionKey('aborted', 1, CLAIM_OBJECT)]);
      const uploads = join(directory, 's3', store.bucket, '._S3rver_uploads');
      assert.deepEqual(await readdir(uploads).catch(() => []), [], 'no multipart parts are left');
      await assert.rejects(registry.getManifest('aborted', 1), ModelNotFoundError);
    });

    it('sends a model in one PUT when it is below a raised threshold', async () => {
      const bytes = identityModel({ graphName: 'raised', paddingBytes: MULTIPART_THRESHOLD_BYTES + 1024 });
      const commands = countCommands(store.createClient());
      const patient = new ModelRegistry({
        store: new S3ObjectStore({
          client: commands.client,
          bucket: store.bucket,
          multipartThresholdBytes: 2 * bytes.byteLength,
        }),
      });
      const manifest = await publishVersion(patient, { name: 'raised', model: bytes });
      assert.deepEqual(
        commands.sent.filter((command) => command !== 'ListObjectsV2Command'),
        ['PutObjectCommand', 'PutObjectCommand', 'PutObjectCommand'],
      );
      assert.equal(
        (await registry.fetchModel('raised', manifest.version)).bytes.byteLength,
        bytes.byteLength,
      );
    });
  });

  describe('S3ObjectStore: a streamed body (a batch input) written from its stream, in parts above the threshold', () => {
    /** A body said to be `size` bytes that gives `size + extra` (byte i is i % 251), in 1 MiB chunks. */
    function streamed(size: number, extra = 0): { body: StreamedBody; bytes: Uint8Array } {
      const bytes = Uint8Array.from({ length: size + extra }, (_, index) => index % 251);
      return {
        bytes,
        body: {
          size,
          open: async function* () {
            for (let offset = 0; offset < bytes.byteLength; offset += 1024 * 1024) {
              yield bytes.subarray(offset, Math.min(offset + 1024 * 1024, bytes.byteLength));
            }
          },
        },
      };
    }

    it('above the threshold: a multipart upload of the stream, progress to its size, the same bytes back; once only', async () => {
      const size = MULTIPART_THRESHOLD_BYTES + MULTIPART_PART_BYTES / 2;
      const commands = countCommands(store.createClient());
      const objects = new S3ObjectStore({ client: commands.client, bucket: store.bucket });
      const source = streamed(size);
      const events: number[] = [];
      assert.equal(
        await objects.putIfAbsent('batch/streamed/input.jsonl', source.body, {
          onProgress: (loaded) => events.push(loaded),
        }),
        true,
      );
      assert.equal(commands.sent.filter((command) => command === 'UploadPartCommand').length, 2);
      assert.deepEqual(events.at(-1), size);
      const stored = await objects.get('batch/streamed/input.jsonl');
      assert.equal(sha256(stored ?? new Uint8Array()), sha256(source.bytes));
      // The key is taken: a second write is refused, whatever it streams.
      assert.equal(await objects.putIfAbsent('batch/streamed/input.jsonl', streamed(size).body), false);
    });

    it('reads the stream as its parts go, a few parts ahead of the upload, never the whole body first', async () => {
      const size = 12 * MULTIPART_PART_BYTES;
      let read = 0;
      let readAtFirstPart: number | undefined;
      const client = store.createClient();
      client.middlewareStack.add(
        (next, context) => (args) => {
          if (context.commandName === 'UploadPartCommand') readAtFirstPart ??= read;
          return next(args);
        },
        { step: 'initialize' },
      );
      const objects = new S3ObjectStore({ client, bucket: store.bucket });
      const body: StreamedBody = {
        size,
        open: async function* () {
          for (; read < size; ) {
            read += 1024 * 1024;
            yield new Uint8Array(1024 * 1024).fill(read % 251);
          }
        },
      };
      assert.equal(await objects.putIfAbsent('batch/streamed/big.jsonl', body), true);
      // lib-storage fills up to MULTIPART_QUEUE_SIZE parts while its first requests go, and Readable.from buffers
      // 16 chunks: the first part leaves with at most that read, nowhere near the whole body.
      const bound = (MULTIPART_QUEUE_SIZE + 1) * MULTIPART_PART_BYTES + 16 * 1024 * 1024;
      assert.ok(
        readAtFirstPart !== undefined && readAtFirstPart <= bound,
        `${readAtFirstPart} read before the first part (bound ${bound}, body ${size})`,
      );
      const stored = await objects.getRange('batch/streamed/big.jsonl', 0, 1);
      stored?.discard();
      assert.equal(stored?.total, size);
      await objects.delete('batch/streamed/big.jsonl');
    });

    it('at most the threshold: one PutObject', async () => {
      const commands = countCommands(store.createClient());
      const objects = new S3ObjectStore({ client: commands.client, bucket: store.bucket });
      const source = streamed(3 * 1024 * 1024 + 5);
      assert.equal(await objects.putIfAbsent('batch/streamed/small.csv', source.body), true);
      assert.deepEqual(commands.sent, ['PutObjectCommand']);
      assert.equal(
        sha256((await objects.get('batch/streamed/small.csv')) ?? new Uint8Array()),
        sha256(source.bytes),
      );
    });

    it('a body that is not the size it said (a file that changed) is refused and nothing is written, no parts left', async () => {
      const objects = new S3ObjectStore({ client: store.createClient(), bucket: store.bucket });
      const size = MULTIPART_THRESHOLD_BYTES + MULTIPART_PART_BYTES / 2;
      await assert.rejects(
        objects.putIfAbsent('batch/streamed/longer.jsonl', streamed(size, 1).body),
        BodyChangedError,
      );
      await assert.rejects(
        objects.putIfAbsent('batch/streamed/shorter.jsonl', streamed(size, -1).body),
        BodyChangedError,
      );
      await assert.rejects(
        objects.putIfAbsent('batch/streamed/short.csv', streamed(1024, -1).body),
        BodyChangedError,
      );
      for (const key of ['longer.jsonl', 'shorter.jsonl', 'short.csv'])
        assert.equal(await objects.get(`batch/streamed/${key}`), undefined, key);
      const uploads = join(directory, 's3', store.bucket, '._S3rver_uploads');
      assert.deepEqual(await readdir(uploads).catch(() => []), [], 'no multipart parts are left');
    });
  });

  describe('ModelRegistry: unknown models and versions', () => {
    it('throws ModelNotFoundError for a model with no versions', async () => {
      await assert.rejects(registry.listVersions('nobody'), ModelNotFoundError);
      await assert.rejects(registry.latestVersion('nobody'), ModelNotFoundError);
      await assert.rejects(registry.getManifest('nobody', 1), ModelNotFoundError);
      await assert.rejects(registry.fetchModel('nobody', 1), ModelNotFoundError);
      await assert.rejects(registry.getManifest('Not A Name', 1), ModelNotFoundError);
    });

    it('throws VersionNotFoundError for a version the model does not have', async () => {
      await assert.rejects(registry.getManifest('echo', 99), VersionNotFoundError);
      await assert.rejects(registry.fetchModel('echo', 99), VersionNotFoundError);
      await assert.rejects(registry.getManifest('echo', 0), VersionNotFoundError);
      await assert.rejects(registry.getManifest('echo', 1.5), VersionNotFoundError);
    });
  });

  describe('ModelRegistry: a crashed publish leaves a gap, not a version', () => {
    it('skips a claimed number without manifest and never lists it', async () => {
      // A publish that died after claiming version 1 and uploading its bytes.
      await client.send(
        new PutObjectCommand({
          Bucket: store.bucket,
          Key: versionKey('crashed', 1, CLAIM_OBJECT),
          Body: '{}',
        }),
      );
      await client.send(
        new PutObjectCommand({
          Bucket: store.bucket,
          Key: versionKey('crashed', 1, MODEL_OBJECT),
          Body: identityModel(),
        }),
      );
      await assert.rejects(registry.listVersions('crashed'), ModelNotFoundError);
      assert.ok(!(await registry.listModels()).includes('crashed'));

      const manifest = await publishVersion(registry, {
        name: 'crashed',
        model: identityModel({ graphName: 'after-crash' }),
      });
      assert.equal(manifest.version, 2);
      assert.deepEqual(await registry.listVersions('crashed'), [2]);
      assert.ok((await registry.listModels()).includes('crashed'));
      await assert.rejects(registry.getManifest('crashed', 1), VersionNotFoundError);
    });
  });

  describe('ModelRegistry: listings follow continuation tokens', () => {
    it('finds every model and version across many small pages', async () => {
      const paged = new ModelRegistry({
        store: new S3ObjectStore({ client, bucket: store.bucket, listPageSize: 2 }),
      });
      assert.deepEqual(await paged.listVersions('counted'), [1, 2, 3]);
      assert.deepEqual(
        await paged.listVersions('raced'),
        Array.from({ length: 12 }, (_, index) => index + 1),
      );
      assert.deepEqual(await paged.listModels(), await registry.listModels());
      const manifest = await publishVersion(paged, {
        name: 'counted',
        model: identityModel({ graphName: 'four' }),
      });
      assert.equal(manifest.version, 4);
    });
  });

  describe('ModelRegistry: store errors propagate unchanged', () => {
    it('rejects with the connection error while the store is down, and works again after', async () => {
      const impatient = new ModelRegistry({ store: store.objects({ client: { maxAttempts: 1 } }) });
      await store.stop();
      try {
        for (const call of [() => impatient.listVersions('echo'), () => impatient.fetchModel('echo', 1)]) {
          await assert.rejects(call(), (error: unknown) => {
            assert.ok(error instanceof Error);
            assert.ok(!(error instanceof SluiceError), `expected the store's own error, got ${error.name}`);
            return true;
          });
        }
      } finally {
        await store.start();
      }
      assert.deepEqual(await impatient.listVersions('echo'), [1]);
    });
  });
});
