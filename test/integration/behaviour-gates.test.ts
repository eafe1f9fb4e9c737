import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ReferenceItem } from '../../lib/core/manifest/ModelManifest.js';
import { planRollout } from '../../lib/core/rollout/plan-rollout.js';
import type { RolloutPlan } from '../../lib/core/rollout/RolloutPlan.js';
import type { RolloutState } from '../../lib/core/rollout/RolloutState.js';
import { LOCAL_STACK_ACTOR } from '../../lib/local/LocalAliasResolver.js';
import { LocalTrafficResponseSchema, localTrafficPath } from '../../lib/local/local-routes.js';
import { publishModel } from '../../lib/publish/publish-model.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { MAX_SHADOW_RUNS_IN_FLIGHT } from '../../lib/serving/InferenceApp.js';
import { seededRandom } from '../../lib/tools/seeded-random.js';
import { IRIS_LABELS } from '../../lib/tools/train-iris.js';
import {
  bodyOf,
  cyclingDraws,
  readMetrics,
  sample,
  startTestStack,
  TestClock,
  type TestStack,
} from '../fixtures/local-stack.js';
import {
  equivalentIrisModel,
  irisClassifier,
  rotatedIrisModel,
  subtlyWorseIrisModel,
} from '../fixtures/models.js';
import {
  irisRequest,
  irisSample,
  localEngine,
  publishPinnedIris,
  rolloutStoreOf,
  type TrafficOutcome,
  trafficUntil,
} from '../fixtures/rollouts.js';
import { describeRun, runSluiceInProcess } from '../fixtures/sluice-cli.js';

const { rows, classes } = irisClassifier();

/** Iris rows as reference items: 149, as one of the 150 rows appears twice, and a replay counts an input once. */
const DISTINCT_IRIS_ROWS = new Set(rows.map((row) => row.join())).size;

/** Varied client traffic: iris rows in a seeded random order, as a real client's would be. */
function variedRequests(seed: number): (n: number) => object {
  const random = seededRandom(seed);
  const order = Array.from({ length: 100_000 }, () => Math.floor(random() * rows.length));
  return (n) => irisRequest(rows[order[n] as number] as number[]);
}

/** A canary with a 20 % shadow phase, as `sluice deploy --shadow-percent 20` plans it. */
function shadowedCanary(): RolloutPlan {
  return planRollout({
    strategy: 'canary',
    weight: 20,
    intervalMs: 30_000,
    minRequests: 20,
    shadowPercent: 20,
  });
}

/** The iris rows with their species, as a reference set. */
function irisReference(): ReferenceItem[] {
  return rows.map((row, index) => ({
    inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [row] }],
    expected: IRIS_LABELS[classes[index] as number] as string,
  }));
}

/** Sends varied traffic until the rollout is over; returns the final state and what the clients got. */
async function untilOver(
  model: string,
  seed: number,
): Promise<{ state: RolloutState; outcomes: TrafficOutcome[] }> {
  const { state, outcomes } = await trafficUntil(test, model, (current) => current?.status === 'idle', {
    maxRequests: 10_000,
    request: variedRequests(seed),
  });
  assert.ok(state);
  return { state, outcomes };
}

let test: TestStack;

before(async () => {
  test = await startTestStack({
    publishSamples: false,
    random: cyclingDraws(),
    shadowRandom: cyclingDraws(),
    clock: new TestClock(),
  });
});

after(async () => {
  await test?.stop();
});

describe('Behaviour gates: a candidate that answers wrong is rolled back before any client sees its answers', () => {
  for (const { title, model, bytes } of [
    { title: 'every answer wrong (species rotated)', model: 'rotated', bytes: rotatedIrisModel() },
    {
      title: 'wrong on some inputs only (8-15 % of rows flip)',
      model: 'worse',
      bytes: subtlyWorseIrisModel().bytes,
    },
  ]) {
    it(`${title}: no golden examples, under varied traffic, with no command running`, async () => {
      await publishPinnedIris(test, model);
      const candidate = await publishVersion(test.stack.registry, { name: model, model: bytes });
      const started = await localEngine(test, 'cli').deploy(model, {
        version: candidate.version,
        plan: shadowedCanary(),
      });
      assert.deepEqual([started.phase, started.weight], ['shadow', 0]);

      const { state, outcomes } = await untilOver(model, 11);
      assert.equal(state.stable, 1, 'the candidate never became stable');
      const last = state.history.at(-1);
      assert.deepEqual([last?.action, last?.actor, last?.candidate], ['rollback', LOCAL_STACK_ACTOR, 2]);
      assert.match(
        last?.reason ?? '',
        /^shadow: v2 disagreed with v1 on \d+ of \d+ compared requests .*more than tolerated/,
      );
      // Which output: the label and the class scores' top class disagree on the same rows.
      assert.match(
        last?.reason ?? '',
        /; by output, the compared requests each disagreed on: label (\d+), probabilities \1(;|$)/,
      );
      assert.ok(
        state.history.every(
          (event) => event.candidate !== 2 || (event.action !== 'promote' && event.weight === 0),
        ),
        'the candidate never took client traffic',
      );
      assert.ok(outcomes.every((outcome) => outcome.version === 1 && outcome.status === 200));
      const metrics = await readMetrics(test);
      assert.ok((metrics.get(sample('sluice_shadow_disagreed_total', model, 2)) ?? 0) > 0);
    });
  }
});

describe('Behaviour gates: an equivalent candidate passes the shadow phase and is promoted', () => {
  it('other bytes, the same answers within tolerance: shadowed, then stepped and promoted on live traffic', async () => {
    await publishPinnedIris(test, 'twin');
    await publishVersion(test.stack.registry, { name: 'twin', model: equivalentIrisModel() });
    await localEngine(test, 'cli').deploy('twin', { version: 2, plan: shadowedCanary() });
    const { state, outcomes } = await untilOver('twin', 12);
    assert.equal(state.stable, 2, JSON.stringify(state.history.slice(-3)));
    const actions = state.history
      .filter((event) => event.candidate === 2)
      .map((event) => `${event.action} ${event.weight}`);
    assert.deepEqual(actions, ['deploy 0', 'step 20', 'promote 100']);
    // The deploy says which gates run, and why the others do not.
    const deployed = state.history.find((event) => event.candidate === 2 && event.action === 'deploy');
    assert.match(
      deployed?.reason ?? '',
      /; gates: shadow phase \(\d+%\), class shares \(of label, at each step's end\); not run: golden examples \(the manifest has none\), replay \(neither version has a reference set\), drift \(no reference set\)$/,
    );
    assert.match(state.history.at(-2)?.reason ?? '', /shadow: 0 of \d+ compared requests disagreed/);
    // The class scores differ by far less than the numeric tolerance: the figures that say how close it is.
    const differences = /\(tolerance 0\.001\): probabilities (\S+) \/ (\S+);/.exec(
      state.history.at(-2)?.reason ?? '',
    );
    assert.ok(differences, state.history.at(-2)?.reason);
    assert.ok(
      Number(differences[1]) <= Number(differences[2]) && Number(differences[2]) < 1e-5,
      differences[0],
    );
    assert.ok(
      outcomes.some((outcome) => outcome.version === 2),
      'clients got its answers once it took traffic',
    );
  });

  it('waits, and says so, while too few answers have been compared', async () => {
    await publishPinnedIris(test, 'quiet-shadow');
    await publishVersion(test.stack.registry, { name: 'quiet-shadow', model: equivalentIrisModel() });
    await localEngine(test, 'cli').deploy('quiet-shadow', { version: 2, plan: shadowedCanary() });
    await trafficUntil(test, 'quiet-shadow', () => true, {
      maxRequests: 20,
      checkEvery: 20,
      request: variedRequests(13),
    });
    const report = await localEngine(test).status('quiet-shadow');
    assert.equal(report.state?.phase, 'shadow');
    assert.ok(report.decision.kind === 'wait' && report.decision.why === 'agreement');
    assert.match(
      report.decision.detail ?? '',
      /disagreed with v1 on 0 of \d+ compared requests .* so far; the sequential test needs more/,
    );
  });
});

describe("Behaviour gates: the shadow run is off the client's path", () => {
  it('answers clients while the candidate is still loading, and runs at most a few shadows at once', async () => {
    await publishPinnedIris(test, 'slow-shadow');
    await publishVersion(test.stack.registry, { name: 'slow-shadow', model: equivalentIrisModel() });
    await localEngine(test, 'cli').deploy('slow-shadow', {
      version: 2,
      plan: planRollout({ strategy: 'canary', intervalMs: 30_000, shadowPercent: 100 }),
    });
    // The candidate's load is held until the test lets it go: a cold load that takes as long as it likes.
    const { engine } = test.stack;
    const get = engine.get.bind(engine);
    let release = (): void => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    engine.get = async (model, version) => {
      if (model === 'slow-shadow' && version === 2) await held;
      return get(model, version);
    };
    try {
      const statuses: string[] = [];
      for (let n = 0; n < MAX_SHADOW_RUNS_IN_FLIGHT + 2; n++) {
        const reply = await test.request('POST', '/v2/models/slow-shadow/infer', irisRequest(rows[n] ?? []));
        statuses.push(`${reply.status} v${reply.headers.get('x-sluice-model-version')}`);
      }
      assert.deepEqual(new Set(statuses), new Set(['200 v1']), 'every client answered by v1, none waiting');
      const compared = async (): Promise<number> =>
        (await readMetrics(test)).get(sample('sluice_shadow_compared_total', 'slow-shadow', 2)) ?? 0;
      assert.equal(await compared(), 0, 'no comparison yet: the candidate is still loading');
      release();
      await test.stack.app.shadowsSettled();
      assert.equal(
        await compared(),
        MAX_SHADOW_RUNS_IN_FLIGHT,
        'the requests beyond the cap were not shadowed',
      );
      assert.equal(
        (await readMetrics(test)).get(sample('sluice_shadow_skipped_total', 'slow-shadow', 2)),
        2,
        'and were counted as skipped',
      );
    } finally {
      engine.get = get;
      release();
    }
  });
});

describe('Behaviour gates: the replay of reference sets, before any traffic', () => {
  it('refuses a candidate whose answers to the reference sets differ, and records why; it gets no traffic', async () => {
    await publishPinnedIris(test, 'replayed');
    await publishVersion(test.stack.registry, {
      name: 'replayed',
      model: rotatedIrisModel(),
      reference: { items: irisReference() },
    });
    await assert.rejects(
      localEngine(test, 'cli').deploy('replayed', { version: 2, plan: shadowedCanary() }),
      new RegExp(
        `v2 of replayed answers the reference sets otherwise than v1 and gets no traffic: ${DISTINCT_IRIS_ROWS} of ` +
          `${DISTINCT_IRIS_ROWS} reference items disagreed .*accuracy \\d+\\.\\d% against 97\\.3%.*` +
          // Which output, and how far apart the class scores are.
          `; by output, the reference items each disagreed on: label ${DISTINCT_IRIS_ROWS}, probabilities ${DISTINCT_IRIS_ROWS}` +
          `; relative differences \\|candidate - stable\\| / max\\(1, \\|stable\\|\\) per item, p50 / p99 \\(tolerance 0\\.001\\): probabilities `,
      ),
    );
    const state = await rolloutStoreOf(test).current('replayed');
    assert.deepEqual(
      [state?.status, state?.stable, state?.history.at(-1)?.action],
      ['idle', 1, 'replay-failed'],
    );
  });

  it('replays a set both versions were published with once: the same evidence is not counted twice', async () => {
    const reference = { items: irisReference() };
    const { bytes } = await irisSample();
    await publishVersion(test.stack.registry, { name: 'shared-set', model: bytes, reference });
    await localEngine(test).deploy('shared-set', {
      version: 1,
      plan: planRollout({ strategy: 'all-at-once' }),
    });
    await publishVersion(test.stack.registry, {
      name: 'shared-set',
      model: equivalentIrisModel(),
      reference,
    });
    const started = await localEngine(test, 'cli').deploy('shared-set', {
      version: 2,
      plan: planRollout({ strategy: 'canary', intervalMs: 30_000 }),
    });
    assert.match(
      started.replay?.summary ?? '',
      new RegExp(`^passed: 0 of ${DISTINCT_IRIS_ROWS} reference items disagreed`),
    );
  });

  it('promotes a quiet model on replay evidence when the plan lets it stand in, and waits otherwise', async () => {
    for (const [model, standsIn] of [
      ['quiet-allowed', true],
      ['quiet-waiting', false],
    ] as const) {
      await publishPinnedIris(test, model);
      await publishVersion(test.stack.registry, {
        name: model,
        model: equivalentIrisModel(),
        reference: { items: irisReference() },
      });
      const started = await localEngine(test, 'cli').deploy(model, {
        version: 2,
        plan: planRollout({
          strategy: 'canary',
          intervalMs: 30_000,
          shadowPercent: 20,
          gates: { replayStandsIn: standsIn },
        }),
      });
      assert.match(
        started.replay?.summary ?? '',
        new RegExp(`^passed: 0 of ${DISTINCT_IRIS_ROWS} reference items disagreed`),
      );
      assert.equal(started.replay?.standsIn, standsIn);
      // No client traffic at all: only the clock moves, and the stack takes the steps that are due.
      for (let tick = 0; tick < 30; tick++) await test.step();
      for (let tick = 0; tick < 30; tick++) {
        test.clock?.advance(10_000);
        await test.stack.driver.tick();
      }
      const state = await rolloutStoreOf(test).current(model);
      if (standsIn) {
        assert.equal(state?.status, 'idle');
        assert.equal(state?.stable, 2, 'promoted on the replay with no traffic');
      } else {
        assert.deepEqual([state?.status, state?.phase], ['rolling', 'shadow'], 'waits for live answers');
      }
    }
  });
});

describe('Drift: what a version answers, against what it gave its reference set, per output', () => {
  it('stays low under traffic like the reference set and rises when the inputs shift to one species', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'sluice-drift-'));
    const modelFile = join(directory, 'iris.onnx');
    const referenceFile = join(directory, 'reference.jsonl');
    await writeFile(modelFile, equivalentIrisModel());
    // The real publish path: `sluice publish --reference` answers the set and keeps its classes and histograms.
    await writeFile(referenceFile, `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`);
    for (const [model, pick] of [
      ['drift-none', (n: number) => n % rows.length],
      // Only setosa rows (the first 50): the answers' classes and probabilities shift far from the reference set's.
      ['drift-shift', (n: number) => n % 50],
    ] as const) {
      const { manifest } = await publishModel(test.stack.registry, { file: modelFile, model, referenceFile });
      // What the model answers (it misclassifies two versicolor), not the true species.
      assert.deepEqual(manifest.reference?.classes, { '0': 50, '1': 48, '2': 52 });
      assert.equal(
        manifest.reference?.outputs?.probabilities?.counts.reduce((sum, count) => sum + count, 0),
        150 * 3,
        'every value of the class scores of the 150 answers, binned',
      );
      await trafficUntil(test, model, () => true, {
        maxRequests: 600,
        checkEvery: 600,
        request: (n) => irisRequest(rows[pick(n)] as number[]),
      });
    }
    await rm(directory, { recursive: true, force: true });
    const metrics = await readMetrics(test);
    const figure = (model: string, output: string) =>
      metrics.get(sample('sluice_drift_psi', model, 1, { output })) ?? Number.NaN;
    for (const output of ['label', 'probabilities']) {
      assert.ok(
        figure('drift-none', output) < 0.1,
        `no shift, ${output}: PSI ${figure('drift-none', output)}`,
      );
      assert.ok(
        figure('drift-shift', output) > 0.25,
        `a shift to one species, ${output}: PSI ${figure('drift-shift', output)}`,
      );
    }

    // The same figures reach `sluice status`, through the stack's traffic route.
    const traffic = bodyOf(
      await test.request('GET', localTrafficPath('drift-shift')),
      LocalTrafficResponseSchema,
    );
    assert.deepEqual(traffic.drift, {
      '1': { label: figure('drift-shift', 'label'), probabilities: figure('drift-shift', 'probabilities') },
    });
    const status = await runSluiceInProcess(['status', 'drift-shift', '--local'], test.home);
    assert.equal(status.code, 0, describeRun(status));
    assert.match(
      status.stdout,
      new RegExp(
        `drift +v1 label ${figure('drift-shift', 'label').toFixed(3)} \\(a large shift\\), probabilities `,
      ),
    );
    const json = await runSluiceInProcess(['status', 'drift-none', '--local', '--json'], test.home);
    assert.deepEqual(Object.keys(JSON.parse(json.stdout).drift['1']).sort(), ['label', 'probabilities']);
  });
});
