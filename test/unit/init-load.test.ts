import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type DeferredLoad,
  finishLoadInInit,
  InitLoadOutcome,
  initWaitMs,
} from '../../lib/serving/init-load.js';

/** A promise the test settles by hand. */
function manual(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

describe('finishLoadInInit: the model loads during Lambda init, within its budget', () => {
  it('waits for a load that fits the budget: no request pays for it, nothing is reported', async () => {
    const reports: DeferredLoad[] = [];
    const outcome = await finishLoadInInit({
      warm: Promise.resolve(),
      initializationType: 'on-demand',
      model: 'iris',
      version: 3,
      onDeferred: (report) => reports.push(report),
      budget: () => new Promise<void>(() => undefined),
    });
    assert.equal(outcome, InitLoadOutcome.SETTLED);
    assert.deepEqual(reports, []);
  });

  it('ends the init when what is left of its 10 s runs out first, saying so in a log line and a ModelLoadDeferred metric', async () => {
    const reports: DeferredLoad[] = [];
    const waits: number[] = [];
    const load = manual();
    const outcome = await finishLoadInInit({
      warm: load.promise,
      initializationType: 'on-demand',
      model: 'iris',
      version: 3,
      onDeferred: (report) => reports.push(report),
      elapsedMs: 1_400,
      budget: (waitMs) => {
        waits.push(waitMs);
        return Promise.resolve();
      },
    });
    // The runtime's start and the module loading took 1.4 s of the 10 s; 1 s is kept for what follows the wait.
    assert.deepEqual(waits, [7_600]);
    assert.equal(outcome, InitLoadOutcome.DEFERRED);
    assert.equal(reports.length, 1);
    assert.match(
      reports[0]?.message ?? '',
      /iris v3 did not load within Lambda's 10 s init \(1400 ms had gone to the runtime and module loading, 7600 ms were left for the load\); the first request waits/,
    );
    const emf = JSON.parse(reports[0]?.emf ?? '{}');
    assert.equal(emf.ModelLoadDeferred, 1);
    assert.equal(emf.Model, 'iris');
    assert.equal(emf.Version, '3');
    assert.deepEqual(emf._aws.CloudWatchMetrics[0].Metrics, [{ Name: 'ModelLoadDeferred', Unit: 'Count' }]);
    load.resolve();
  });

  it('under provisioned concurrency always waits for the whole load, however long it takes', async () => {
    const load = manual();
    let budgetAsked = false;
    const waiting = finishLoadInInit({
      warm: load.promise,
      initializationType: 'provisioned-concurrency',
      model: 'iris',
      version: 3,
      onDeferred: () => assert.fail('never deferred under provisioned concurrency'),
      budget: () => {
        budgetAsked = true;
        return Promise.resolve();
      },
    });
    let settled = false;
    void waiting.then(() => {
      settled = true;
    });
    await Promise.resolve();
    assert.equal(settled, false, 'still waiting for the load');
    load.resolve();
    assert.equal(await waiting, InitLoadOutcome.SETTLED);
    assert.equal(budgetAsked, false);
  });

  it('waits nothing once the process has used up the init (a slow module load), rather than a fixed 8 s more', () => {
    assert.equal(initWaitMs(0), 9_000);
    assert.equal(initWaitMs(8_500), 500);
    assert.equal(initWaitMs(12_000), 0);
  });
});
