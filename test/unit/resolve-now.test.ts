import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RolloutState } from '../../lib/core/rollout/RolloutState.js';
import { RolloutStatus } from '../../lib/core/rollout/RolloutState.js';
import { initialState } from '../../lib/core/rollout/rollout-transitions.js';
import { HealthWindow } from '../../lib/local/HealthWindow.js';
import { LocalAliasResolver } from '../../lib/local/LocalAliasResolver.js';
import { LocalRolloutStates } from '../../lib/local/LocalRolloutStates.js';
import { RegistryResolver } from '../../lib/local/RegistryResolver.js';
import { FixedVersionResolver } from '../../lib/serving/FixedVersionResolver.js';

/** A registry of one model with versions 1 and 2, counting its listings. */
function registry(): {
  listings: number;
  listVersions: (model: string) => Promise<number[]>;
  listModels: () => Promise<string[]>;
} {
  const counted = {
    listings: 0,
    listVersions: async (model: string) => {
      counted.listings++;
      return model === 'iris' ? [1, 2] : [];
    },
    listModels: async () => ['iris'],
  };
  return counted;
}

/** A rollout state store in memory (the stack's LocalRolloutStates over it), counting its reads. */
function stateStore(initial: RolloutState | undefined): { reads: number; store: LocalRolloutStates } {
  const counted = { reads: 0, store: undefined as unknown as LocalRolloutStates };
  let current = initial;
  counted.store = new LocalRolloutStates({
    current: async () => {
      counted.reads++;
      return current;
    },
    write: async (next) => {
      current = next;
      return next;
    },
  });
  return counted;
}

describe('resolveNow: the version a warm request is served by, known without a store read', () => {
  it('the local alias answers from memory once the listing and the state are read, drawing as resolve draws', async () => {
    const canary: RolloutState = {
      ...initialState('iris', 1),
      status: RolloutStatus.ROLLING,
      candidate: 2,
      weight: 50,
    };
    const listed = registry();
    const states = stateStore(canary);
    const draws = [0.1, 0.9, 0.3, 0.7];
    let drawn = 0;
    const resolver = new LocalAliasResolver({
      registry: new RegistryResolver(listed),
      states: states.store,
      health: new HealthWindow(),
      random: () => draws[drawn++ % draws.length] as number,
    });
    assert.equal(
      resolver.resolveNow('iris'),
      undefined,
      'nothing read yet: the request goes through resolve',
    );
    assert.equal(drawn, 0, 'no draw for an answer it did not give');
    assert.equal(await resolver.resolve('iris'), 2, 'draw 0.1 of a 50 % canary');
    assert.deepEqual([listed.listings, states.reads, drawn], [1, 1, 1]);
    assert.deepEqual(
      [resolver.resolveNow('iris'), resolver.resolveNow('iris'), resolver.resolveNow('iris')],
      [1, 2, 1],
      'draws 0.9, 0.3, 0.7: one per request, as resolve would',
    );
    assert.deepEqual([listed.listings, states.reads, drawn], [1, 1, 4], 'no listing, no state read');
    assert.equal(resolver.resolveNow('iris', { explicitVersion: true }), 2, 'a named version draws nothing');
    assert.equal(drawn, 4);
    assert.equal(resolver.resolveNow('unknown'), undefined, 'an unknown model goes through resolve (a 404)');
  });

  it('the local alias leaves the first pin of a never-deployed model to resolve', async () => {
    const states = stateStore(undefined);
    const resolver = new LocalAliasResolver({
      registry: new RegistryResolver(registry()),
      states: states.store,
      health: new HealthWindow(),
    });
    await resolver.resolve('iris', { explicitVersion: true });
    await states.store.current('iris');
    assert.equal(resolver.resolveNow('iris'), undefined, 'known to have no state: resolve writes the pin');
    assert.equal(await resolver.resolve('iris'), 2, 'pinned at the newest version');
    assert.equal(resolver.resolveNow('iris'), 2, 'routed by the pin from memory');
  });

  it('the Lambda resolver knows its configured version, and no other model', () => {
    const resolver = new FixedVersionResolver({
      model: 'iris',
      version: 3,
      registry: { listVersions: async () => [1, 2, 3] },
      isReady: async () => true,
    });
    assert.equal(resolver.resolveNow('iris'), 3);
    assert.equal(resolver.resolveNow('other'), undefined);
    assert.equal(resolver.shadow, undefined, 'no shadow to draw outside a shadow build');
  });
});
