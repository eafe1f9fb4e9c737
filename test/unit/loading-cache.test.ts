import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoadingCache } from '../../lib/core/cache/LoadingCache.js';

describe('LoadingCache: loads on a miss, once for concurrent callers, until invalidated or expired', () => {
  it('shares one load between concurrent misses and keeps the value until invalidated', async () => {
    let loads = 0;
    const cache = new LoadingCache({ load: async (key: string) => `${key}:${++loads}` });
    assert.deepEqual(await Promise.all([cache.get('a'), cache.get('a'), cache.get('a')]), [
      'a:1',
      'a:1',
      'a:1',
    ]);
    assert.equal(await cache.get('a'), 'a:1');
    cache.invalidate('a');
    assert.equal(await cache.get('a'), 'a:2');
    cache.set('a', 'written');
    assert.equal(await cache.get('a'), 'written', 'the writer’s value, with no load');
    assert.equal(loads, 2);
  });

  it('expires a value on the injected clock, never on the wall clock', async () => {
    let now = 1_000;
    let loads = 0;
    const cache = new LoadingCache({ load: async () => ++loads, ttlMs: 100, now: () => now });
    assert.equal(await cache.get('k'), 1);
    now += 100;
    assert.equal(await cache.get('k'), 1, 'still fresh at its lifetime');
    now += 1;
    assert.equal(await cache.get('k'), 2);
  });

  it('does not keep a failed load, and answers with the last value where told to', async () => {
    let fail = false;
    let loads = 0;
    const cache = new LoadingCache({
      load: async () => {
        loads++;
        if (fail) throw new Error('store down');
        return loads;
      },
      keepLastOn: (error) => error instanceof Error && error.message === 'store down',
    });
    assert.equal(await cache.get('k'), 1);
    fail = true;
    cache.invalidate('k');
    assert.equal(await cache.get('k'), 1, 'the last value while the store is down');
    const strict = new LoadingCache<number>({ load: async () => Promise.reject(new Error('nope')) });
    await assert.rejects(strict.get('k'), /nope/);
    await assert.rejects(strict.get('k'), /nope/, 'loaded again, not the failure kept');
  });

  it('peeks only at a value it could answer without waiting, and loads nothing by peeking', async () => {
    let now = 1_000;
    let loads = 0;
    let answer: (value: number) => void = () => {};
    const cache = new LoadingCache({
      load: () =>
        new Promise<number>((resolve) => {
          loads++;
          answer = resolve;
        }),
      ttlMs: 100,
      now: () => now,
    });
    assert.equal(cache.peek('k'), undefined, 'nothing loaded');
    assert.equal(loads, 0, 'a peek loads nothing');
    const pending = cache.get('k');
    assert.equal(cache.peek('k'), undefined, 'a load in flight is not a value');
    answer(7);
    assert.equal(await pending, 7);
    assert.deepEqual(cache.peek('k'), { value: 7 });
    now += 101;
    assert.equal(cache.peek('k'), undefined, 'expired on the injected clock');
    cache.set('k', 8);
    assert.deepEqual(cache.peek('k'), { value: 8 }, 'a written value at once');
    cache.invalidate('k');
    assert.equal(cache.peek('k'), undefined, 'invalidated');
    const undefinedValue = new LoadingCache<undefined>({ load: async () => undefined });
    await undefinedValue.get('none');
    assert.deepEqual(undefinedValue.peek('none'), { value: undefined }, 'a known absence is a value');
    const failing = new LoadingCache<number>({ load: async () => Promise.reject(new Error('down')) });
    await assert.rejects(failing.get('k'));
    assert.equal(failing.peek('k'), undefined, 'a failed load is no value');
  });
});
