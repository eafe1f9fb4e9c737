import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { driveStackRollouts } from '../../lib/aws/driver/drive-stack-rollouts.js';
import { LocalObjectStore } from '../../lib/local/LocalObjectStore.js';
import { DriverLease } from '../../lib/storage/DriverLease.js';
import type { ObjectStore } from '../../lib/storage/ObjectStore.js';
import { TestClock } from '../fixtures/local-stack.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

describe('DriverLease: one tick of a driver at a time, without reserved concurrency (embedded S3 over HTTP)', () => {
  let home: string;
  let s3: LocalObjectStore;
  let objects: ObjectStore;
  const clock = new TestClock();
  let n = 0;
  const leaseOf = (name = `driver-${++n}`) =>
    new DriverLease({ store: objects, name, durationMs: 55_000, now: clock.now });

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'sluice-lease-'));
    s3 = await LocalObjectStore.start({ directory: join(home, 's3'), port: 0 });
    objects = s3.objects();
  });

  after(async () => {
    await s3.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('of ticks that try at once, exactly one takes it', async () => {
    const lease = leaseOf();
    const held = await Promise.all(['a', 'b', 'c', 'd'].map((holder) => lease.acquire(holder)));
    assert.equal(held.filter((taken) => taken !== undefined).length, 1);
  });

  it('is free again once released, or once its holder has run past the timeout; not before', async () => {
    const lease = leaseOf();
    const first = await lease.acquire('first');
    assert.ok(first);
    clock.advance(54_999);
    assert.equal(await lease.acquire('second'), undefined, "still within the holder's timeout");
    clock.advance(1);
    const second = await lease.acquire('second');
    assert.deepEqual(second, { generation: 2, holder: 'second' }, 'a holder past its timeout is gone');
    await lease.release(second);
    assert.deepEqual(await lease.acquire('third'), { generation: 3, holder: 'third' }, 'released: at once');
  });

  it('keeps a few generations, deleting older ones as it goes', async () => {
    const name = `driver-${++n}`;
    const lease = leaseOf(name);
    for (let tick = 0; tick < 12; tick++) {
      const held = await lease.acquire(`tick-${tick}`);
      assert.ok(held);
      await lease.release(held);
    }
    const keys: string[] = [];
    for await (const key of objects.list(`rollouts/_leases/${name}/`)) keys.push(key);
    assert.ok(keys.length <= 10, keys.join(', '));
    assert.ok(keys.some((key) => key.endsWith('000000000012.json')));
  });

  it('a driver tick that cannot take the lease does nothing, and one that can releases it when done', async () => {
    const lease = leaseOf();
    const read: string[] = [];
    let entered = (): void => {};
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let finish = (): void => {};
    const blocked = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const deps = (holder: string) => ({
      engine: { step: async () => assert.fail('no model is rolling'), isDue: () => false },
      // The first tick's read of the model's state waits until the test lets it go: a tick that is still running.
      store: {
        current: async () => {
          read.push(holder);
          if (holder === 'first') {
            entered();
            await blocked;
          }
          return undefined;
        },
      },
      lambda: {} as never,
      cloudwatch: {} as never,
      // A model with no function in this stack: nothing to prune, so no AWS call.
      modelFunctions: { iris: undefined as unknown as string },
      keepVersions: 3,
      lease: { lease, holder },
    });
    const running = driveStackRollouts(deps('first'));
    await inside;
    const second = await driveStackRollouts(deps('second'));
    assert.deepEqual(second, { skipped: true, outcomes: [], pruned: {} }, 'the first tick holds the lease');
    finish();
    assert.equal((await running).skipped, undefined);
    // Released at the end of the first: the next tick runs at once, however soon it comes.
    assert.equal((await driveStackRollouts(deps('third'))).skipped, undefined);
    assert.deepEqual(read, ['first', 'third'], 'the skipped tick read nothing');
  });
});
