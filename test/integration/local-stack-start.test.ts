import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CLAIM_OBJECT, MODEL_OBJECT, versionKey } from '../../lib/core/manifest/registry-layout.js';
import { LocalStack } from '../../lib/local/LocalStack.js';
import { readModelSignature } from '../../lib/publish/read-model-signature.js';
import { ModelRegistry, UNPUBLISHED_GRACE_MS } from '../../lib/storage/ModelRegistry.js';
import type { ObjectStore } from '../../lib/storage/ObjectStore.js';
import { silentLogger, TestClock } from '../fixtures/local-stack.js';
import { paddedIdentityModel } from '../fixtures/models.js';
import { PROJECT_ROOT } from '../fixtures/sluice-cli.js';

/** A stack on `home` with free ports, silent, driven by `clock` when given; the samples only when asked. */
function startStack(home: string, options: { clock?: TestClock; publishSamples?: boolean } = {}) {
  return LocalStack.start({
    home,
    port: 0,
    publishSamples: options.publishSamples ?? false,
    logger: silentLogger(),
    ...(options.clock ? { now: options.clock.now, driveEveryMs: false as const } : {}),
  });
}

/** Every key of the store under `models/NAME/`. */
async function keysOf(store: ObjectStore, model: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.list(`models/${model}/`)) keys.push(key);
  return keys;
}

describe('npm start: a start that fails on a taken port publishes nothing', () => {
  it('exits 1 naming the port, and the new data folder has no sample model (a real process)', async (t) => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const address = taken.address();
    assert.ok(address && typeof address === 'object');
    const home = await mkdtemp(join(tmpdir(), 'sluice-port-taken-'));
    try {
      const run = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'bin/local.ts'], {
          cwd: PROJECT_ROOT,
          env: {
            ...process.env,
            SLUICE_HOME: home,
            PORT: String(address.port),
            NODE_TEST_CONTEXT: undefined,
          },
          stdio: ['ignore', 'ignore', 'pipe'],
          // Ends with the test (cancelled or timed out by the runner), not after a time of its own.
          signal: t.signal,
        });
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          stderr += chunk;
        });
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stderr }));
      });
      assert.equal(run.code, 1, run.stderr);
      assert.match(
        run.stderr,
        new RegExp(`could not start the local stack: .*\\(port ${address.port} is taken`),
      );

      const after = await startStack(home);
      try {
        assert.deepEqual(
          await after.registry.listModels(),
          [],
          'no sample was published by the failed start',
        );
        assert.deepEqual(await keysOf(after.store.objects(), 'iris'), []);
      } finally {
        await after.stop();
      }
    } finally {
      await new Promise((resolve) => taken.close(resolve));
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe('LocalStack start: removes the bytes of publishes that died before their manifest', () => {
  it('deletes bytes claimed over the grace period ago, and keeps versions, claims and young uploads', async () => {
    const home = await mkdtemp(join(tmpdir(), 'sluice-start-sweep-'));
    const clock = new TestClock();
    try {
      const first = await startStack(home, { clock });
      const bytes = paddedIdentityModel({ graphName: 'kept' });
      const signature = readModelSignature(bytes);
      const objects = first.store.objects();
      // v1 published; v2 and v3 as a publish killed after its bytes leaves them: a claim and model.onnx.
      await new ModelRegistry({ store: objects, now: clock.now }).publish({
        name: 'dying',
        bytes,
        signature,
      });
      for (const [version, claimedAt] of [
        [2, clock.now() - UNPUBLISHED_GRACE_MS - 1],
        [3, clock.now() - UNPUBLISHED_GRACE_MS + 60_000],
      ] as const) {
        const claim = {
          publisher: 'killed',
          claimedAt: new Date(claimedAt).toISOString(),
          sha256: 'f'.repeat(64),
        };
        await objects.putIfAbsent(versionKey('dying', version, CLAIM_OBJECT), JSON.stringify(claim));
        await objects.putIfAbsent(versionKey('dying', version, MODEL_OBJECT), bytes);
      }
      await first.stop();

      const restarted = await startStack(home, { clock });
      try {
        assert.deepEqual(await keysOf(restarted.store.objects(), 'dying'), [
          versionKey('dying', 1, CLAIM_OBJECT),
          'models/dying/1/manifest.json',
          versionKey('dying', 1, MODEL_OBJECT),
          versionKey('dying', 2, CLAIM_OBJECT),
          versionKey('dying', 3, CLAIM_OBJECT),
          versionKey('dying', 3, MODEL_OBJECT),
        ]);
        assert.equal((await restarted.registry.fetchModel('dying', 1)).manifest.version, 1);
      } finally {
        await restarted.stop();
      }
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
