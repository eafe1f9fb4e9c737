import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RolloutPreset } from '../../lib/core/config/deploy-config.js';
import { rolloutPlanOf } from '../../lib/core/config/rollout-plan-of.js';
import { planRollout } from '../../lib/core/rollout/plan-rollout.js';
import {
  CUSTOM_RESOURCE_SERVICE_TIMEOUT_SECONDS,
  DRIVER_INTERVAL_MS,
  METRICS_SETTLE_MS,
  PROVIDER_QUERY_INTERVAL_MS,
  PROVIDER_TOTAL_TIMEOUT_MS,
  ROLLOUT_WAIT_MS,
  rolloutDurationMs,
} from '../../lib/core/rollout/rollout-wait.js';

const MINUTE = 60_000;

describe('how long cdk deploy waits for a rollout, and how long a plan takes on AWS', () => {
  it('stays inside the documented limits: ServiceTimeout at most 3600 s, the Provider at most an hour, the rollout inside both', () => {
    assert.equal(CUSTOM_RESOURCE_SERVICE_TIMEOUT_SECONDS, 3600);
    assert.ok(PROVIDER_TOTAL_TIMEOUT_MS <= 60 * MINUTE);
    assert.ok(
      PROVIDER_TOTAL_TIMEOUT_MS < CUSTOM_RESOURCE_SERVICE_TIMEOUT_SECONDS * 1000,
      'onEvent runs before the waiter',
    );
    assert.ok(
      ROLLOUT_WAIT_MS + 2 * PROVIDER_QUERY_INTERVAL_MS <= PROVIDER_TOTAL_TIMEOUT_MS,
      'isComplete sees the deadline in time',
    );
    assert.equal(ROLLOUT_WAIT_MS, 50 * MINUTE);
  });

  it('counts each bake (every step below 100 %), its metrics settling and the next tick, and the shadow phase; the promotion needs no bake of its own', () => {
    const perBake = (intervalMinutes: number) =>
      intervalMinutes * MINUTE + METRICS_SETTLE_MS + DRIVER_INTERVAL_MS;
    const minutes = (preset: RolloutPreset) =>
      rolloutDurationMs(rolloutPlanOf({ strategy: 'preset', preset })) / MINUTE;
    // The default 10 % shadow phase adds at least its metrics settling and a tick: 4 minutes.
    const shadow = perBake(0) / MINUTE;
    assert.equal(minutes(RolloutPreset.ALL_AT_ONCE), shadow + perBake(0) / MINUTE);
    assert.equal(minutes(RolloutPreset.CANARY_10_PERCENT_5_MINUTES), shadow + 9);
    assert.equal(minutes(RolloutPreset.CANARY_10_PERCENT_30_MINUTES), shadow + 34);
    assert.equal(minutes(RolloutPreset.LINEAR_10_PERCENT_EVERY_1_MINUTE), shadow + 45);
    assert.equal(
      minutes(RolloutPreset.LINEAR_10_PERCENT_EVERY_2_MINUTES),
      shadow + 54,
      'over the wait: synth refuses it',
    );
    const unshadowed = rolloutPlanOf({
      strategy: 'preset',
      preset: RolloutPreset.CANARY_10_PERCENT_5_MINUTES,
      shadowPercent: 0,
    });
    assert.equal(rolloutDurationMs(unshadowed) / MINUTE, 9);
    assert.equal(rolloutDurationMs(planRollout({ strategy: 'manual' })), Number.POSITIVE_INFINITY);
  });

  it('maps every preset to the canary, linear or all-at-once plan it names, with the default evidence', () => {
    assert.deepEqual(
      rolloutPlanOf({ strategy: 'preset', preset: RolloutPreset.CANARY_10_PERCENT_15_MINUTES }),
      {
        strategy: 'canary',
        steps: [10, 100],
        intervalMs: 15 * MINUTE,
        minRequests: 20,
        shadowPercent: 10,
      },
    );
    assert.deepEqual(
      rolloutPlanOf({
        strategy: 'preset',
        preset: RolloutPreset.LINEAR_10_PERCENT_EVERY_3_MINUTES,
        minRequests: 5,
      }).minRequests,
      5,
    );
    for (const preset of Object.values(RolloutPreset)) {
      const plan = rolloutPlanOf({ strategy: 'preset', preset });
      assert.equal(plan.steps.at(-1), 100, preset);
      assert.match(preset, new RegExp(`^${plan.strategy}`), preset);
    }
  });
});
