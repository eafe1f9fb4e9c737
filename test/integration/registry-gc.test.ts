import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Command } from 'commander';
import * as z from 'zod';
import type { CliIo } from '../../lib/cli/cli-io.js';
import { UsageError } from '../../lib/cli/exit-codes.js';
import { registerGcCommand } from '../../lib/cli/gc-command.js';
import {
  CLAIM_OBJECT,
  MANIFEST_OBJECT,
  MODEL_OBJECT,
  REFERENCE_OBJECT,
  versionKey,
} from '../../lib/core/manifest/registry-layout.js';
import { LocalObjectStore } from '../../lib/local/LocalObjectStore.js';
import { writeLocalStackInfo } from '../../lib/local/local-home.js';
import { readModelSignature } from '../../lib/publish/read-model-signature.js';
import { KeptReason, ModelRegistry, UNPUBLISHED_GRACE_MS } from '../../lib/storage/ModelRegistry.js';
import type { ObjectStore } from '../../lib/storage/ObjectStore.js';
import { S3ObjectStore } from '../../lib/storage/S3ObjectStore.js';
import { paddedIdentityModel } from '../fixtures/models.js';

/** 2027-01-15T08:00:00Z: the tests' clock; nothing here reads the wall clock to judge an age. */
const NOW = Date.parse('2027-01-15T08:00:00.000Z');

const HOUR_MS = 60 * 60 * 1000;

/** The registry's own store, except that the manifest write never happens: a publish killed before its commit. */
function killedBeforeCommit(store: ObjectStore): ObjectStore {
  return {
    locate: (key) => store.locate(key),
    get: (key) => store.get(key),
    getRange: (key, start, length) => store.getRange(key, start, length),
    list: (prefix) => store.list(prefix),
    delete: (key) => store.delete(key),
    putIfAbsent: async (key, body, options) => {
      if (key.endsWith(`/${MANIFEST_OBJECT}`)) throw new Error('killed before the manifest was written');
      return store.putIfAbsent(key, body, options);
    },
  };
}

let directory: string;
let s3: LocalObjectStore;
let objects: S3ObjectStore;

before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'sluice-gc-'));
  s3 = await LocalObjectStore.start({ directory: join(directory, 's3') });
  objects = new S3ObjectStore({ client: s3.createClient(), bucket: s3.bucket });
});

after(async () => {
  await s3.stop();
  await rm(directory, { recursive: true, force: true });
});

/** Publishes `model` as a publish killed after its bytes (and reference set), claimed at `claimedAt`. */
async function killedPublish(
  model: string,
  claimedAt: number,
  options: { reference?: boolean } = {},
): Promise<void> {
  const registry = new ModelRegistry({ store: killedBeforeCommit(objects), now: () => claimedAt });
  const bytes = paddedIdentityModel({ graphName: `${model}-${claimedAt}` });
  await assert.rejects(
    registry.publish({
      name: model,
      bytes,
      signature: readModelSignature(bytes),
      ...(options.reference
        ? { reference: { items: [{ inputs: [{ name: 'x', shape: [1, 4], data: [1, 2, 3, 4] }] }] } }
        : {}),
    }),
    /killed before the manifest was written/,
  );
}

/** Publishes `model` for real, at `at`. */
async function published(model: string, at: number): Promise<number> {
  const registry = new ModelRegistry({ store: objects, now: () => at });
  const bytes = paddedIdentityModel({ graphName: `${model}-published-${at}` });
  return (await registry.publish({ name: model, bytes, signature: readModelSignature(bytes) })).version;
}

/** Every key under `models/NAME/`. */
async function keysOf(model: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of objects.list(`models/${model}/`)) keys.push(key);
  return keys;
}

describe('ModelRegistry.sweepUnpublished: bytes without a manifest, older than the grace period, go', () => {
  it('removes a killed publish claimed over the grace period ago, keeps its claim, and never touches a version or a young upload', async () => {
    const model = 'swept';
    await published(model, NOW - 3 * HOUR_MS); // v1
    await killedPublish(model, NOW - 2 * HOUR_MS, { reference: true }); // v2, old
    await published(model, NOW - 90 * 60 * 1000); // v3
    await killedPublish(model, NOW - 10 * 60 * 1000); // v4, young: may still be in flight
    // v5: bytes whose claim says nothing of its time (an older or foreign writer).
    await s3
      .createClient()
      .send(new PutObjectCommand({ Bucket: s3.bucket, Key: versionKey(model, 5, CLAIM_OBJECT), Body: '{}' }));
    await s3.createClient().send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: versionKey(model, 5, MODEL_OBJECT),
        Body: paddedIdentityModel({ graphName: 'undated' }),
      }),
    );
    const registry = new ModelRegistry({ store: objects, now: () => NOW });

    const dry = await registry.sweepUnpublished({ dryRun: true });
    assert.deepEqual(
      dry.removed.map((entry) => entry.version),
      [2],
    );
    assert.ok(
      (await keysOf(model)).includes(versionKey(model, 2, MODEL_OBJECT)),
      'a dry run removes nothing',
    );

    const report = await registry.sweepUnpublished({ graceMs: UNPUBLISHED_GRACE_MS });
    assert.deepEqual(report.removed, [
      {
        model,
        version: 2,
        keys: [versionKey(model, 2, MODEL_OBJECT), versionKey(model, 2, REFERENCE_OBJECT)],
        claimedAt: new Date(NOW - 2 * HOUR_MS).toISOString(),
      },
    ]);
    assert.deepEqual(
      report.kept.map((entry) => [entry.version, entry.reason]),
      [
        [4, KeptReason.YOUNG],
        [5, KeptReason.UNDATED],
      ],
    );
    const keys = await keysOf(model);
    assert.ok(
      keys.includes(versionKey(model, 2, CLAIM_OBJECT)),
      'the claim stays: the number is never reused',
    );
    assert.ok(!keys.includes(versionKey(model, 2, MODEL_OBJECT)));
    assert.ok(!keys.includes(versionKey(model, 2, REFERENCE_OBJECT)));
    assert.ok(keys.includes(versionKey(model, 4, MODEL_OBJECT)), 'the young upload is untouched');
    assert.deepEqual(await registry.listVersions(model), [1, 3]);
    for (const version of [1, 3]) await registry.fetchModel(model, version);
    assert.equal(await published(model, NOW), 6, 'the next publish still skips every claimed number');

    const later = await registry.sweepUnpublished({ now: NOW + HOUR_MS });
    assert.deepEqual(
      later.removed.map((entry) => entry.version),
      [4],
      'an hour on, the young upload is old',
    );
  });

  it('deletes the bytes of a publish stopped after its upload, so nothing is left to sweep', async () => {
    const registry = new ModelRegistry({ store: objects, now: () => NOW });
    const bytes = paddedIdentityModel({ graphName: 'stopped-late' });
    const stop = new AbortController();
    await assert.rejects(
      registry.publish({
        name: 'stopped',
        bytes,
        signature: readModelSignature(bytes),
        signal: stop.signal,
        // One PUT: its progress ends at the total once the object is in the store, and then the signal fires.
        onProgress: (loaded, total) => {
          if (loaded === total) stop.abort();
        },
      }),
      /nothing was published/,
    );
    assert.deepEqual(await keysOf('stopped'), [versionKey('stopped', 1, CLAIM_OBJECT)]);
  });
});

/** Runs `sluice gc ARGS` through its command, in this process, with buffers for its output. */
async function gc(args: readonly string[], env: Record<string, string | undefined>) {
  let stdout = '';
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: () => undefined,
    interactive: false,
    env,
  };
  const program = new Command('sluice').exitOverride();
  registerGcCommand(program, io);
  await program.parseAsync(['gc', ...args], { from: 'user' });
  return stdout;
}

const GcJsonSchema = z.object({
  dryRun: z.boolean(),
  graceMs: z.number(),
  removed: z.array(z.object({ model: z.string(), version: z.number(), keys: z.array(z.string()) })),
  kept: z.array(z.object({ model: z.string(), version: z.number(), reason: z.string() })),
});

describe('sluice gc: on the local stack and on a bucket', () => {
  // Claims dated long ago and far ahead: the command judges by the wall clock, and these ages hold whatever it says.
  const LONG_AGO = Date.parse('2020-01-01T00:00:00.000Z');
  const FAR_AHEAD = Date.parse('2999-01-01T00:00:00.000Z');

  it('with --bucket: removes what the grace period allows, keeps uploads claimed within it, and says so', async () => {
    await killedPublish('bucketed', LONG_AGO);
    await killedPublish('bucketed', FAR_AHEAD);
    const target = ['--bucket', s3.bucket, '--endpoint', s3.endpoint, '--region', 'us-east-1'];
    const dry = GcJsonSchema.parse(JSON.parse(await gc([...target, '--dry-run', '--json'], {})));
    assert.equal(dry.dryRun, true);
    assert.equal(dry.graceMs, UNPUBLISHED_GRACE_MS);
    assert.ok(dry.removed.some((entry) => entry.model === 'bucketed' && entry.version === 1));

    const text = await gc(target, {});
    assert.match(
      text,
      new RegExp(
        `removed the bytes of \\d+ version numbers? without a manifest from s3://${s3.bucket} \\(claimed over 1h ago\\):\\n`,
      ),
    );
    assert.match(text, /\n {2}bucketed v1 {2}model\.onnx {2}claimed 2020-01-01T00:00:00\.000Z\n/);
    assert.match(text, /their numbers stay claimed and are never reused/);
    assert.match(
      text,
      /kept \d+ version numbers? without a manifest:\n(.*\n)* {2}bucketed v2 {2}model\.onnx {2}claimed 2999-01-01T00:00:00\.000Z: claimed less than 1h ago: its publish may still be in flight\n/,
    );
    const keys = await keysOf('bucketed');
    assert.ok(!keys.includes(versionKey('bucketed', 1, MODEL_OBJECT)));
    assert.ok(keys.includes(versionKey('bucketed', 2, MODEL_OBJECT)));

    // A claim from a clock ahead of this one is young whatever the grace: it may be in flight.
    const again = GcJsonSchema.parse(JSON.parse(await gc([...target, '--grace', '0', '--json'], {})));
    assert.equal(again.graceMs, 0);
    assert.deepEqual(
      again.kept.filter((entry) => entry.model === 'bucketed'),
      [{ model: 'bucketed', version: 2, reason: KeptReason.YOUNG }],
    );
  });

  it('with --local: the same through the stack the local-stack file names', async () => {
    const home = await mkdtemp(join(tmpdir(), 'sluice-gc-home-'));
    try {
      await writeLocalStackInfo(home, {
        apiUrl: 'http://127.0.0.1:9',
        s3Endpoint: s3.endpoint,
        bucket: s3.bucket,
        controlToken: '0'.repeat(32),
        pid: process.pid,
      });
      await killedPublish('localgc', LONG_AGO);
      const report = GcJsonSchema.parse(JSON.parse(await gc(['--local', '--json'], { SLUICE_HOME: home })));
      assert.deepEqual(
        report.removed.filter((entry) => entry.model === 'localgc').map((entry) => entry.version),
        [1],
      );
      // What is left in the shared bucket is only what the grace period or an undated claim keeps.
      const text = await gc(['--local'], { SLUICE_HOME: home });
      assert.match(text, /^kept \d+ version numbers? without a manifest:\n/);
      assert.doesNotMatch(text, /localgc/);
      assert.match(
        text,
        / {2}swept v5 {2}model\.onnx {2}no dated claim: no readable claim says when its upload began/,
      );
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('refuses a --grace that is not a duration as a usage error', async () => {
    await assert.rejects(gc(['--local', '--grace', 'soon'], {}), (error: unknown) => {
      assert.ok(error instanceof UsageError, String(error));
      assert.match(error.message, /^--grace: invalid duration "soon"/);
      return true;
    });
  });
});
