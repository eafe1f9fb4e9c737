import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { RolloutEventSchema } from '../../lib/rollout/RolloutState.js';
import { startTestStack, type TestStack } from '../fixtures/local-stack.js';
import { runtimeFailureModel } from '../fixtures/models.js';
import {
  countByVersion,
  irisSample,
  publishIrisAs,
  publishPinnedIris,
  rolloutStoreOf,
  sendTraffic,
  waitForState,
} from '../fixtures/rollouts.js';
import { describeRun, runSluice, startSluice } from '../fixtures/sluice-cli.js';

/** What `sluice status --json` prints. */
const StatusJsonSchema = z.object({
  model: z.string(),
  status: z.enum(['idle', 'rolling', 'none']),
  stable: z.number().optional(),
  candidate: z.number().optional(),
  weight: z.number(),
  health: z.object({ verdict: z.string(), reasons: z.array(z.string()) }).optional(),
  requests: z.record(z.string(), z.number()),
  decision: z.object({ kind: z.string() }),
  history: z.array(RolloutEventSchema),
});

let test: TestStack;

/** `sluice ARGS --local` against the test stack. */
function sluice(...args: string[]) {
  return runSluice([...args, '--local'], test.home);
}

async function status(model: string): Promise<z.infer<typeof StatusJsonSchema>> {
  const run = await sluice('status', model, '--json');
  assert.equal(run.code, 0, describeRun(run));
  return StatusJsonSchema.parse(JSON.parse(run.stdout));
}

before(async () => {
  test = await startTestStack({ publishSamples: false });
});

after(async () => {
  await test?.stop();
});

describe('sluice deploy: a healthy rollout moves through its steps to 100%', () => {
  it('promotes step by step while clients are served by both versions, and status shows the history', async () => {
    await publishPinnedIris(test, 'steady');
    await publishIrisAs(test, 'steady');
    const deploy = startSluice(
      [
        'deploy',
        'steady',
        '--version',
        '2',
        '--strategy',
        'linear',
        '--weight',
        '25',
        '--interval',
        '300ms',
        '--local',
      ],
      test.home,
    );
    const outcomes = await sendTraffic(test, 'steady', { stop: deploy.done });
    const run = await deploy.done;
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /golden examples of v2 passed/);
    assert.match(run.stdout, /plan: linear \[25, 50, 75, 100\]%, 300ms per step/);
    assert.match(run.stdout, /promoted: steady v2 takes all traffic/);

    const seen = countByVersion(outcomes);
    assert.ok(
      (seen['1'] ?? 0) > 0 && (seen['2'] ?? 0) > 0,
      `both versions served during the rollout: ${JSON.stringify(seen)}`,
    );
    assert.ok(outcomes.every((outcome) => outcome.status === 200));
    assert.deepEqual(countByVersion(await sendTraffic(test, 'steady', { count: 10 })), { '2': 10 });

    const report = await status('steady');
    assert.equal(report.status, 'idle');
    assert.equal(report.stable, 2);
    const actions = report.history
      .filter((event) => event.candidate === 2)
      .map((event) => `${event.action} ${event.weight}`);
    assert.deepEqual(actions, ['deploy 25', 'step 50', 'step 75', 'promote 100']);
    assert.ok((report.requests['2'] ?? 0) > 0, 'status reports the requests observed per version');

    const text = await sluice('status', 'steady');
    assert.equal(text.code, 0, describeRun(text));
    assert.match(text.stdout, /steady: idle; v2 takes all traffic/);
    assert.match(text.stdout, /requests {3}v1 \d+, v2 \d+/);
    assert.match(text.stdout, /history:\n(.*\n)*.*promote +cli +v1 -> v2 +100%/);
  });
});

describe('sluice deploy: a candidate that fails under traffic is rolled back and deploy exits 1', () => {
  it('stops waiting and says who rolled it back and why', async () => {
    await publishPinnedIris(test, 'flaky');
    const bad = await test.stack.registry.publish({ name: 'flaky', model: runtimeFailureModel() });
    const deploy = startSluice(
      ['deploy', 'flaky', '--version', String(bad.version), '--weight', '50', '--interval', '1m', '--local'],
      test.home,
    );
    const outcomes = await sendTraffic(test, 'flaky', { stop: deploy.done, gapMs: 2 });
    const run = await deploy.done;
    assert.equal(run.code, 1, describeRun(run));
    // The stack's watchdog or the command's own health check, whichever judged first.
    assert.match(
      run.stderr,
      /flaky v2 was rolled back by (local-stack|cli): v2 is unhealthy: error rate \d+\.\d% .* is above the limit of 5\.0%/,
    );
    assert.ok(outcomes.some((outcome) => outcome.status === 500));
    const state = await rolloutStoreOf(test).current('flaky');
    assert.equal(state?.status, 'idle');
    assert.equal(state?.stable, 1);
  });
});

describe('sluice deploy: a version whose golden examples fail never receives traffic', () => {
  it('exits 1 naming the mismatch, and no response carries that version', async () => {
    await publishPinnedIris(test, 'golden');
    const { bytes, extras } = await irisSample();
    const wrong = structuredClone(extras);
    const label = wrong.goldenExamples?.[0]?.outputs.find((output) => output.name === 'label');
    assert.ok(label);
    label.data = [2];
    // registry.publish does not run the golden examples (`sluice publish` would refuse this version).
    const bad = await test.stack.registry.publish({ name: 'golden', model: bytes, extras: wrong });

    const deploy = startSluice(['deploy', 'golden', '--version', String(bad.version), '--local'], test.home);
    const outcomes = await sendTraffic(test, 'golden', { stop: deploy.done });
    const run = await deploy.done;
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stderr, /v2 of golden failed its golden examples and gets no traffic/);
    assert.match(run.stderr, /example 1, output "label"\[0\]: expected 2, got 0/);

    outcomes.push(...(await sendTraffic(test, 'golden', { count: 20 })));
    assert.deepEqual(Object.keys(countByVersion(outcomes)), ['1'], 'only v1 ever answered');
    const report = await status('golden');
    assert.equal(report.status, 'idle');
    assert.equal(report.history.at(-1)?.action, 'golden-failed');
  });
});

describe('sluice deploy: a killed CLI leaves a rollout that the next command carries on', () => {
  it('shows the rollout as rolling after SIGKILL, and deploy again completes it', async () => {
    await publishPinnedIris(test, 'resume');
    await publishIrisAs(test, 'resume');
    const first = startSluice(
      ['deploy', 'resume', '--version', '2', '--interval', '4s', '--local'],
      test.home,
    );
    await waitForState(test, 'resume', (state) => state?.status === 'rolling', 20_000);
    first.child.kill('SIGKILL');
    const killed = await first.done;
    assert.equal(killed.signal, 'SIGKILL');

    const report = await status('resume');
    assert.equal(report.status, 'rolling');
    assert.equal(report.candidate, 2);
    assert.equal(report.weight, 10);
    assert.equal(report.decision.kind, 'wait');
    // The stack keeps routing by the stored state with nobody running: both versions serve.
    const outcomes = await sendTraffic(test, 'resume', { count: 100 });
    assert.ok((countByVersion(outcomes)['2'] ?? 0) > 0);

    const again = await sluice('deploy', 'resume', '--version', '2', '--interval', '4s');
    assert.equal(again.code, 0, describeRun(again));
    assert.match(again.stdout, /resuming the rollout of resume v2/);
    assert.match(again.stdout, /promoted: resume v2 takes all traffic/);
    const state = await rolloutStoreOf(test).current('resume');
    assert.equal(state?.status, 'idle');
    assert.equal(state?.stable, 2);
  });
});

describe('sluice deploy: one rollout of a model at a time', () => {
  it('refuses the second of two concurrent deploys with a clear message (exit 1)', async () => {
    await publishPinnedIris(test, 'race');
    await publishIrisAs(test, 'race');
    await publishIrisAs(test, 'race');
    const runs = await Promise.all(
      ['2', '3'].map((version) => sluice('deploy', 'race', '--version', version, '--no-wait')),
    );
    const codes = runs.map((run) => run.code).sort();
    assert.deepEqual(codes, [0, 1], runs.map(describeRun).join('\n'));
    const winner = runs.findIndex((run) => run.code === 0) === 0 ? 2 : 3;
    const loser = runs.find((run) => run.code === 1);
    assert.match(
      loser?.stderr ?? '',
      /a rollout of race \(v1 -> v\d\) is in progress|another command changed the rollout of race at the same time/,
    );
    const state = await rolloutStoreOf(test).current('race');
    assert.equal(state?.status, 'rolling');
    assert.equal(state?.candidate, winner);

    // Later deploys of another version are refused too, naming the rollout in progress.
    const third = await sluice('deploy', 'race', '--version', String(winner === 2 ? 3 : 2));
    assert.equal(third.code, 1, describeRun(third));
    assert.match(third.stderr, new RegExp(`a rollout of race \\(v1 -> v${winner}\\) is in progress`));
  });
});

describe('sluice promote and rollback: moving a manual rollout by hand', () => {
  it('sets the first weight and returns, promotes to a weight, rolls back, and refuses with nothing to move', async () => {
    await publishPinnedIris(test, 'manual');
    await publishIrisAs(test, 'manual');
    const deploy = await sluice(
      'deploy',
      'manual',
      '--version',
      '2',
      '--strategy',
      'manual',
      '--weight',
      '20',
    );
    assert.equal(deploy.code, 0, describeRun(deploy));
    assert.match(deploy.stdout, /v1 80% \/ v2 20%/);
    assert.equal((await status('manual')).weight, 20);

    const promote = await sluice('promote', 'manual', '--weight', '50', '--json');
    assert.equal(promote.code, 0, describeRun(promote));
    assert.equal(JSON.parse(promote.stdout).weight, 50);

    const rollback = await sluice('rollback', 'manual', '--reason', 'labels look wrong');
    assert.equal(rollback.code, 0, describeRun(rollback));
    assert.match(rollback.stdout, /rolled back manual v2: v1 takes all traffic/);
    assert.deepEqual(countByVersion(await sendTraffic(test, 'manual', { count: 20 })), { '1': 20 });
    const report = await status('manual');
    assert.equal(report.history.at(-1)?.reason, 'labels look wrong');

    const nothing = await sluice('promote', 'manual');
    assert.equal(nothing.code, 1, describeRun(nothing));
    assert.match(nothing.stderr, /no rollout of manual is in progress/);
  });

  it('promotes a waiting rollout to stable with a bare promote', async () => {
    await publishPinnedIris(test, 'bare');
    await publishIrisAs(test, 'bare');
    const deploy = await sluice('deploy', 'bare', '--version', '2', '--no-wait');
    assert.equal(deploy.code, 0, describeRun(deploy));
    const promote = await sluice('promote', 'bare');
    assert.equal(promote.code, 0, describeRun(promote));
    assert.match(promote.stdout, /promoted: bare v2 takes all traffic/);
  });
});

describe('sluice rollout commands: usage and targets', () => {
  it('exits 2 for a missing version, an unknown strategy, a bad weight or interval', async () => {
    const runs = await Promise.all([
      sluice('deploy', 'steady'),
      sluice('deploy', 'steady', '--version', '2', '--strategy', 'yolo'),
      sluice('deploy', 'steady', '--version', '2', '--weight', '150'),
      sluice('deploy', 'steady', '--version', '2', '--weight', '100'),
      sluice('deploy', 'steady', '--version', '2', '--interval', 'soon'),
      sluice('promote', 'steady', '--weight', 'half'),
    ]);
    const expected = [
      /--version must be a version number/,
      /--strategy must be one of canary, linear, all-at-once, manual; got "yolo"/,
      /--weight must be a whole percent from 1 to 100; got "150"/,
      /canary weight must be a whole percent from 1 to 99; got 100/,
      /invalid duration "soon"/,
      /--weight must be a whole percent/,
    ];
    runs.forEach((run, index) => {
      assert.equal(run.code, 2, describeRun(run));
      assert.match(run.stderr, expected[index] as RegExp);
    });
  });

  it('exits 1 for a version that is not published and for status of an unknown model', async () => {
    const [missing, unknown] = await Promise.all([
      sluice('deploy', 'steady', '--version', '9'),
      sluice('status', 'nobody'),
    ]);
    assert.equal(missing.code, 1, describeRun(missing));
    assert.match(missing.stderr, /model "steady" has no version 9/);
    assert.equal(unknown.code, 1, describeRun(unknown));
    assert.match(unknown.stderr, /unknown model "nobody"/);
  });

  it('reports a model that was never deployed: its newest version answers', async () => {
    await publishIrisAs(test, 'unpinned');
    const run = await sluice('status', 'unpinned');
    assert.equal(run.code, 0, describeRun(run));
    assert.match(
      run.stdout,
      /unpinned: never deployed; the newest published version \(v1\) answers unversioned requests \(the local stack pins it as stable at the first such request\)/,
    );
  });

  it('needs the stack and function of the model on AWS, and says so', async () => {
    const run = await runSluice(['status', 'iris', '--bucket', 'some-bucket'], test.home);
    assert.equal(run.code, 2, describeRun(run));
    assert.match(run.stderr, /on AWS, pass --function NAME/);
  });
});
