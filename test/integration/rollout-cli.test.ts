import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as z from 'zod';
import { RolloutEventSchema } from '../../lib/core/rollout/RolloutState.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { cyclingDraws, startTestStack, TestClock, type TestStack } from '../fixtures/local-stack.js';
import { identityModel, runtimeFailureModel } from '../fixtures/models.js';
import {
  countByVersion,
  irisSample,
  publishIrisAs,
  publishPinnedIris,
  rolloutStoreOf,
  sendTraffic,
  trafficUntil,
  waitForState,
} from '../fixtures/rollouts.js';
import { describeRun, runSluiceInProcess, startSluice } from '../fixtures/sluice-cli.js';

/** What `sluice status --json` prints. */
const StatusJsonSchema = z.object({
  model: z.string(),
  status: z.enum(['idle', 'rolling', 'none']),
  stable: z.number().optional(),
  candidate: z.number().optional(),
  weight: z.number(),
  health: z
    .object({ verdict: z.string(), reasons: z.array(z.string()), candidateRequests: z.number().optional() })
    .optional(),
  requests: z.record(z.string(), z.number()),
  decision: z.object({ kind: z.string(), why: z.string().optional(), detail: z.string().optional() }),
  history: z.array(RolloutEventSchema),
});

let test: TestStack;
const clock = new TestClock();

/** `sluice ARGS --local` against the test stack, in this process. */
function sluice(...args: string[]) {
  // A following deploy reads the rollout each time the test's traffic has moved the clock on by its interval.
  return runSluiceInProcess([...args, '--local'], test.home, {}, { sleep: clock.sleep });
}

async function status(model: string): Promise<z.infer<typeof StatusJsonSchema>> {
  const run = await sluice('status', model, '--json');
  assert.equal(run.code, 0, describeRun(run));
  return StatusJsonSchema.parse(JSON.parse(run.stdout));
}

before(async () => {
  test = await startTestStack({
    publishSamples: false,
    random: cyclingDraws(),
    shadowRandom: cyclingDraws(),
    clock,
  });
});

after(async () => {
  await test?.stop();
});

describe('sluice deploy: follows the rollout the local stack carries to 100 %', () => {
  it('prints each step and exits 0 once promoted, while clients are served by both versions', async () => {
    await publishPinnedIris(test, 'steady');
    await publishIrisAs(test, 'steady');
    const deploy = sluice(
      'deploy',
      'steady',
      '--version',
      '2',
      '--strategy',
      'linear',
      '--weight',
      '50',
      '--interval',
      '300ms',
    );
    const outcomes = await sendTraffic(test, 'steady', { stop: deploy });
    const run = await deploy;
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /\d+ golden examples? of v2 passed/);
    assert.match(run.stdout, /plan: linear \[50, 100\]%, 300ms per step, 20 requests per step/);
    assert.match(
      run.stdout,
      /following \(Ctrl-C stops following; the rollout carries on in the local stack\)/,
    );
    assert.match(run.stdout, /promote +local-stack +v1 -> v2 +100%/);
    assert.match(run.stdout, /promoted: steady v2 takes all traffic/);

    const seen = countByVersion(outcomes);
    assert.ok((seen['1'] ?? 0) > 0 && (seen['2'] ?? 0) > 0, `both versions served: ${JSON.stringify(seen)}`);
    assert.ok(outcomes.every((outcome) => outcome.status === 200));

    const report = await status('steady');
    assert.equal(report.status, 'idle');
    assert.equal(report.stable, 2);
    const actions = report.history
      .filter((event) => event.candidate === 2)
      .map((event) => `${event.action} ${event.weight} ${event.actor}`);
    // The shadow phase first (weight 0), then the plan's steps, each taken by the stack.
    assert.deepEqual(actions, ['deploy 0 cli', 'step 50 local-stack', 'promote 100 local-stack']);

    const text = await sluice('status', 'steady');
    assert.equal(text.code, 0, describeRun(text));
    assert.match(text.stdout, /steady: idle; v2 takes all traffic/);
    assert.match(text.stdout, /history:\n(.*\n)*.*promote +local-stack +v1 -> v2 +100%/);
  });

  it('with --no-wait returns at once, and the stack alone ends the rollout: promoted under traffic', async () => {
    await publishPinnedIris(test, 'unattended');
    await publishIrisAs(test, 'unattended');
    const run = await sluice(
      'deploy',
      'unattended',
      '--version',
      '2',
      '--strategy',
      'linear',
      '--weight',
      '50',
      '--interval',
      '10s',
      '--no-wait',
    );
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /it carries on by itself/);
    const { state } = await trafficUntil(test, 'unattended', (current) => current?.status === 'idle', {
      maxRequests: 100_000,
      checkEvery: 50,
    });
    assert.equal(state?.stable, 2);
    assert.equal(state?.history.at(-1)?.actor, 'local-stack');
  });

  it('exits 1 naming who rolled a failing candidate back and why, before any client saw its answers', async () => {
    await publishPinnedIris(test, 'flaky');
    const bad = await publishVersion(test.stack.registry, { name: 'flaky', model: runtimeFailureModel() });
    const deploy = sluice(
      'deploy',
      'flaky',
      '--version',
      String(bad.version),
      '--weight',
      '50',
      '--interval',
      '1m',
      // The failing model has no labels, unlike the iris it replaces.
      '--allow-label-change',
    );
    const outcomes = await sendTraffic(test, 'flaky', { stop: deploy });
    const run = await deploy;
    assert.equal(run.code, 1, describeRun(run));
    assert.match(
      run.stdout,
      /v2 loads; it has no golden examples, so its answers were not checked before traffic/,
    );
    assert.match(
      run.stderr,
      /flaky v2 was rolled back by local-stack: shadow: v2 disagreed with v1 on (\d+) of \1 compared requests \(100\.0%; 2\.0% tolerated\): more than tolerated/,
    );
    // The shadow phase caught it: every client got the stable version's answer.
    assert.ok(outcomes.every((outcome) => outcome.status === 200 && outcome.version === 1));
    const state = await rolloutStoreOf(test).current('flaky');
    assert.deepEqual([state?.status, state?.stable], ['idle', 1]);
  });

  it('warns before any traffic when the candidate takes other inputs than the stable version', async () => {
    await publishPinnedIris(test, 'reshaped');
    const other = await publishVersion(test.stack.registry, {
      name: 'reshaped',
      model: identityModel('FP32', [-1, 4]),
    });
    const run = await sluice(
      'deploy',
      'reshaped',
      '--version',
      String(other.version),
      '--strategy',
      'manual',
      // The identity model has no labels, unlike the iris it replaces.
      '--allow-label-change',
    );
    assert.equal(run.code, 0, describeRun(run));
    assert.match(
      run.stderr,
      /warning: v2 of reshaped has another signature than stable v1; clients sending what v1 accepts may be refused/,
    );
    assert.match(run.stderr, /input "features" is missing \(the stable version has FP32 \[-1, 4\]\)/);
    await sluice('rollback', 'reshaped');
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
    const bad = await publishVersion(test.stack.registry, { name: 'golden', model: bytes, extras: wrong });

    const deploy = sluice('deploy', 'golden', '--version', String(bad.version));
    const outcomes = await sendTraffic(test, 'golden', { stop: deploy });
    const run = await deploy;
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

describe('sluice deploy: a killed CLI loses nothing, the stack carries the rollout on', () => {
  it('after SIGKILL the rollout still routes and ends promoted with no further command', async (t) => {
    await publishPinnedIris(test, 'resume');
    await publishIrisAs(test, 'resume');
    const first = startSluice(
      ['deploy', 'resume', '--version', '2', '--interval', '2s', '--shadow-percent', '0', '--local'],
      test.home,
      t.signal,
    );
    await waitForState(test, 'resume', (state) => state?.status === 'rolling');
    first.child.kill('SIGKILL');
    const killed = await first.done;
    assert.equal(killed.signal, 'SIGKILL');

    const report = await status('resume');
    assert.deepEqual([report.status, report.candidate, report.weight], ['rolling', 2, 10]);
    const { state } = await trafficUntil(test, 'resume', (current) => current?.status === 'idle', {
      maxRequests: 100_000,
      checkEvery: 50,
    });
    assert.equal(state?.stable, 2);
    assert.equal(state?.history.at(-1)?.actor, 'local-stack');
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

    const third = await sluice('deploy', 'race', '--version', String(winner === 2 ? 3 : 2));
    assert.equal(third.code, 1, describeRun(third));
    assert.match(third.stderr, new RegExp(`a rollout of race \\(v1 -> v${winner}\\) is in progress`));

    // Deploying the version in progress again resumes following it, and says which new options it ignores.
    const again = await sluice(
      'deploy',
      'race',
      '--version',
      String(winner),
      '--weight',
      '30',
      '--interval',
      '1h',
      '--no-wait',
    );
    assert.equal(again.code, 0, describeRun(again));
    assert.match(again.stdout, new RegExp(`resuming the rollout of race v${winner}`));
    assert.match(
      again.stderr,
      /the rollout in progress keeps its plan \(canary \[10, 100\]%, 5m per step, 20 requests per step\); --weight 30, --interval 1h not applied/,
    );
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
    assert.match(deploy.stdout, /it carries on by itself only with `sluice promote`/);
    assert.match(
      deploy.stdout,
      /follow with `sluice status manual --local`, move on with `sluice promote manual --local`/,
    );
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
    const deploy = await sluice('deploy', 'bare', '--version', '2', '--shadow-percent', '0', '--no-wait');
    assert.equal(deploy.code, 0, describeRun(deploy));
    const promote = await sluice('promote', 'bare');
    assert.equal(promote.code, 0, describeRun(promote));
    assert.match(promote.stdout, /promoted: bare v2 takes all traffic/);
  });

  it('status says why a bake is extended, and never moves the rollout itself', async () => {
    await publishPinnedIris(test, 'waiting');
    await publishIrisAs(test, 'waiting');
    const deploy = await sluice(
      'deploy',
      'waiting',
      '--version',
      '2',
      '--strategy',
      'all-at-once',
      '--shadow-percent',
      '0',
      '--no-wait',
    );
    assert.equal(deploy.code, 0, describeRun(deploy));
    const before = await rolloutStoreOf(test).current('waiting');
    const report = await status('waiting');
    assert.equal(report.decision.why, 'evidence');
    const text = await sluice('status', 'waiting');
    assert.match(text.stdout, /next {7}bake extended: v2 answered 0 of the 20 requests a step needs/);
    assert.match(text.stdout, /evidence {3}v2 answered 0 requests in this step; a step needs 20/);
    assert.equal((await rolloutStoreOf(test).current('waiting'))?.revision, before?.revision);
    await sluice('rollback', 'waiting');
  });

  it('refuses a --reason that is too long or has control characters, and prints stored reasons safely', async () => {
    await publishPinnedIris(test, 'reasons');
    await publishIrisAs(test, 'reasons');
    await sluice('deploy', 'reasons', '--version', '2', '--strategy', 'manual');
    const long = await sluice('rollback', 'reasons', '--reason', 'x'.repeat(501));
    assert.equal(long.code, 2, describeRun(long));
    assert.match(long.stderr, /--reason must be at most 500 characters; got 501/);
    const withEscape = await sluice('rollback', 'reasons', '--reason', 'bad\u001b[31mred');
    assert.equal(withEscape.code, 2, describeRun(withEscape));
    assert.match(withEscape.stderr, /--reason must be plain text on one line/);
    // A reason written by another writer (an alarm's text) is printed without its control characters.
    const store = rolloutStoreOf(test);
    const state = await store.current('reasons');
    assert.ok(state);
    const { rollback } = await import('../../lib/core/rollout/rollout-transitions.js');
    await store.write(
      rollback(state, { reason: 'alarm\u001b[2Jtext\nnext', actor: 'alarm', now: Date.now() }),
    );
    const text = await sluice('status', 'reasons');
    assert.ok(!text.stdout.includes('\u001b'), 'no escape sequence reaches the terminal');
    assert.match(text.stdout, /alarm\?\[2Jtext\?next/);
  });
});

describe('sluice rollout commands: usage and targets', () => {
  it('exits 2 for a missing version, an unknown strategy, a bad weight, interval or minimum', async () => {
    const runs = await Promise.all([
      sluice('deploy', 'steady'),
      sluice('deploy', 'steady', '--version', '2', '--strategy', 'yolo'),
      sluice('deploy', 'steady', '--version', '2', '--weight', '150'),
      sluice('deploy', 'steady', '--version', '2', '--weight', '100'),
      sluice('deploy', 'steady', '--version', '2', '--interval', 'soon'),
      sluice('deploy', 'steady', '--version', '2', '--min-requests', '-3'),
      sluice('promote', 'steady', '--weight', 'half'),
    ]);
    const expected = [
      /--version must be a version number \(1, 2, 3, \.\.\.\); it is required/,
      /--strategy must be one of canary, linear, all-at-once, manual; got "yolo"/,
      /--weight must be a whole percent from 1 to 99; got "150"/,
      /--weight must be a whole percent from 1 to 99; got "100"/,
      /invalid duration "soon"/,
      /--min-requests must be a whole number, 0 or more; got "-3"/,
      /--weight must be a whole percent from 1 to 100; got "half"/,
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
    const run = await runSluiceInProcess(
      ['status', 'iris', '--bucket', 'some-bucket', '--region', 'eu-west-1'],
      test.home,
    );
    assert.equal(run.code, 2, describeRun(run));
    assert.match(run.stderr, /on AWS, pass --function NAME/);
  });
});
