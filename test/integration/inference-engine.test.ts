import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Tensor } from 'onnxruntime-node';
import { ModelUnavailableError, VersionNotFoundError } from '../../lib/core/errors/model-errors.js';
import { LocalObjectStore } from '../../lib/local/LocalObjectStore.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { InferenceEngine } from '../../lib/serving/InferenceEngine.js';
import { lambdaSessionOptions } from '../../lib/serving/session-options.js';
import { ModelRegistry } from '../../lib/storage/ModelRegistry.js';
import { classifierModel } from '../fixtures/models.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

describe('InferenceEngine: one session per version, reused, bounded by a byte budget with LRU eviction', () => {
  let home: string;
  let store: LocalObjectStore;
  let registry: ModelRegistry;
  let sizeBytes: number;
  const fetches: string[] = [];

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'sluice-engine-'));
    store = await LocalObjectStore.start({ directory: join(home, 's3'), port: 0 });
    registry = new ModelRegistry({ store: store.objects() });
    for (const seed of [1, 2, 3]) {
      const manifest = await publishVersion(registry, { name: 'clf', model: classifierModel({ seed }) });
      sizeBytes = manifest.size;
    }
  });
  after(async () => {
    await store.stop();
    await rm(home, { recursive: true, force: true });
  });

  const counting = () => ({
    fetchModel: (model: string, version: number) => {
      fetches.push(`${model}@${version}`);
      return registry.fetchModel(model, version);
    },
  });

  it('creates a session once and reuses it; concurrent first requests share one load', async () => {
    fetches.length = 0;
    const loads: number[] = [];
    const engine = new InferenceEngine({
      registry: counting(),
      onLoad: ({ version }) => loads.push(version),
    });
    const [a, b, c] = await Promise.all([engine.get('clf', 1), engine.get('clf', 1), engine.get('clf', 1)]);
    assert.equal(a, b);
    assert.equal(b, c);
    assert.equal(await engine.get('clf', 1), a);
    assert.deepEqual(fetches, ['clf@1']);
    assert.deepEqual(loads, [1]);
    const result = await a.session.run({
      features: new Tensor('float32', new Float32Array([1, 2, 3, 4]), [1, 4]),
    });
    assert.equal(result.probabilities?.dims[1], 3);
    await engine.close();
  });

  it('evicts the least recently used version past the budget, but never the pinned one', async () => {
    fetches.length = 0;
    // Resident memory held still, so each session counts its file size: the order of eviction is the point here.
    const engine = new InferenceEngine({
      registry: counting(),
      budgetBytes: sizeBytes * 2,
      residentMemory: () => 0,
    });
    engine.pin('clf', 1);
    await engine.get('clf', 1);
    await engine.get('clf', 2);
    await engine.get('clf', 3); // over budget: 2 is the least recently used unpinned version
    assert.deepEqual(
      engine.loaded().map((entry) => entry.version),
      [1, 3],
    );
    await engine.get('clf', 2); // loads again; now 3 is the oldest unpinned
    assert.deepEqual(
      engine.loaded().map((entry) => entry.version),
      [1, 2],
    );
    assert.deepEqual(fetches, ['clf@1', 'clf@2', 'clf@3', 'clf@2']);
    await engine.close();
  });

  it('counts the memory a session takes (growth while created and in its first run), not its file size', async () => {
    // A meter that says each session creation takes 100 MB and each first run 50 MB more.
    let resident = 0;
    const mb = 1024 * 1024;
    const engine = new InferenceEngine({
      registry,
      budgetBytes: 320 * mb,
      residentMemory: () => {
        resident += 50 * mb;
        return resident;
      },
    });
    await engine.get('clf', 1); // two readings 50 MB apart around creation
    assert.deepEqual(
      engine.loaded().map((entry) => [entry.version, entry.memoryBytes, entry.sizeBytes]),
      [[1, 50 * mb, sizeBytes]],
    );
    const features = new Tensor('float32', new Float32Array([1, 2, 3, 4]), [1, 4]);
    const one = await engine.get('clf', 1);
    await engine.measureFirstRun('clf', 1, () => one.session.run({ features }));
    await engine.measureFirstRun('clf', 1, () => one.session.run({ features })); // measured once only
    assert.equal(engine.loaded()[0]?.memoryBytes, 100 * mb);
    await engine.get('clf', 2);
    await engine.get('clf', 3);
    // 100 + 50 + 50 = 200 MB <= 320; the first run of 3 adds 50 (250), and of 2 another 50 (300): still in.
    const three = await engine.get('clf', 3);
    await engine.measureFirstRun('clf', 3, () => three.session.run({ features }));
    const two = await engine.get('clf', 2);
    await engine.measureFirstRun('clf', 2, () => two.session.run({ features }));
    assert.deepEqual(
      engine.loaded().map((entry) => entry.version),
      [1, 3, 2],
    );
    // Version 1 again: within the budget. A 4th session (50 MB at creation) takes it to 350 MB: 1, the oldest, goes.
    await publishVersion(registry, { name: 'clf', model: classifierModel({ seed: 4 }) });
    await engine.get('clf', 4);
    assert.deepEqual(
      engine.loaded().map((entry) => entry.version),
      [3, 2, 4],
    );
    await engine.close();
  });

  it('measures a real session: at least its file size, from the resident memory the process gained', async () => {
    const engine = new InferenceEngine({ registry });
    await engine.get('clf', 1);
    const [entry] = engine.loaded();
    assert.ok(entry && entry.memoryBytes >= entry.sizeBytes);
    await engine.close();
  });

  it('answers 404 for a version that does not exist and 503 while the store is down, then recovers', async () => {
    const engine = new InferenceEngine({ registry });
    await assert.rejects(engine.get('clf', 99), VersionNotFoundError);
    await store.stop();
    try {
      await assert.rejects(engine.get('clf', 2), (error: unknown) => {
        assert.ok(error instanceof ModelUnavailableError);
        assert.match(error.message, /model "clf" version 2 cannot be loaded/);
        return true;
      });
    } finally {
      await store.start();
    }
    const loaded = await engine.get('clf', 2);
    assert.equal(loaded.manifest.version, 2);
    await engine.close();
  });

  it('chooses Lambda-friendly session options: threads from the CPUs available, full optimisation, no spinning', () => {
    assert.deepEqual(lambdaSessionOptions(3), {
      intraOpNumThreads: 3,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      enableCpuMemArena: true,
      enableMemPattern: true,
      logSeverityLevel: 3,
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    });
    assert.equal(lambdaSessionOptions(0).intraOpNumThreads, 1);
  });
});
