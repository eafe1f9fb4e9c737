import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import * as z from 'zod';
import type { CliIo } from '../../lib/cli/cli-io.js';
import { registerDeployCommand } from '../../lib/cli/deploy-command.js';
import { ExitCode, FollowTimeoutError } from '../../lib/cli/exit-codes.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { startTestStack, TestClock, type TestStack } from '../fixtures/local-stack.js';
import { classifierModel } from '../fixtures/models.js';
import { irisSample, publishIrisAs, publishPinnedIris, rolloutStoreOf } from '../fixtures/rollouts.js';
import { describeRun, runSluiceInProcess } from '../fixtures/sluice-cli.js';

/** The iris sample's labels, in its output index order. */
const IRIS_LABELS = ['setosa', 'versicolor', 'virginica'];

/** What `sluice deploy --json` prints of the changes. */
const DeployJsonSchema = z.object({
  result: z.string(),
  candidate: z.number().optional(),
  changes: z.object({
    from: z.number(),
    to: z.number(),
    sha256: z.object({ stable: z.string(), candidate: z.string(), same: z.boolean() }),
    signature: z.array(z.string()),
    labels: z.object({
      stable: z.array(z.string()).optional(),
      candidate: z.array(z.string()).optional(),
      change: z.string(),
    }),
    goldenExamples: z.object({ stable: z.number(), candidate: z.number() }),
  }),
});

let test: TestStack;
const clock = new TestClock();

before(async () => {
  // The test's clock and no driver of its own: a rollout stays where the test leaves it.
  test = await startTestStack({ publishSamples: false, clock });
});

after(async () => {
  await test?.stop();
});

/** `sluice ARGS --local` against the test stack, in this process. */
function sluice(...args: string[]) {
  return runSluiceInProcess([...args, '--local'], test.home, {}, { sleep: clock.sleep });
}

describe('sluice deploy: says what changes between the stable version and the candidate before acting', () => {
  it('prints sha256, inputs/outputs, labels and golden examples, and puts them in --json', async () => {
    await publishPinnedIris(test, 'compared');
    const sample = await irisSample();
    // The same bytes without golden examples: only the examples' count changes.
    await publishIrisAs(test, 'compared', { labels: IRIS_LABELS });
    const text = await sluice('deploy', 'compared', '--version', '2', '--strategy', 'manual');
    assert.equal(text.code, 0, describeRun(text));
    const golden = sample.extras.goldenExamples?.length ?? 0;
    assert.match(
      text.stdout,
      new RegExp(
        '^changes from stable v1 to v2:\\n' +
          ' {2}sha256 {11}same \\([0-9a-f]{12}\\)\\n' +
          ' {2}inputs/outputs {3}same\\n' +
          ' {2}labels {11}same \\[setosa, versicolor, virginica\\]\\n' +
          ` {2}golden examples {2}${golden} -> 0\\n`,
      ),
    );
    assert.ok(text.stdout.indexOf('changes from') < text.stdout.indexOf('rolling out'), 'before acting');
    const rollback = await sluice('rollback', 'compared');
    assert.equal(rollback.code, 0, describeRun(rollback));

    const json = await sluice('deploy', 'compared', '--version', '2', '--strategy', 'manual', '--json');
    assert.equal(json.code, 0, describeRun(json));
    const { changes } = DeployJsonSchema.parse(JSON.parse(json.stdout));
    assert.deepEqual(changes.labels, { stable: IRIS_LABELS, candidate: IRIS_LABELS, change: 'none' });
    assert.deepEqual(changes.goldenExamples, { stable: golden, candidate: 0 });
    assert.equal(changes.sha256.same, true);
    assert.deepEqual([changes.from, changes.to, changes.signature], [1, 2, []]);
    await sluice('rollback', 'compared');
  });

  it('shows other bytes and another signature line by line', async () => {
    await publishPinnedIris(test, 'reshaped-diff');
    await publishVersion(test.stack.registry, {
      name: 'reshaped-diff',
      model: classifierModel({ features: 5, classes: 3 }),
      extras: { labels: IRIS_LABELS },
    });
    const run = await sluice('deploy', 'reshaped-diff', '--version', '2', '--strategy', 'manual');
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /\n {2}sha256 {11}[0-9a-f]{12} -> [0-9a-f]{12}\n/);
    assert.match(
      run.stdout,
      /\n {2}inputs\/outputs {3}input "features" changed from FP32 \[-1, 4\] to FP32 \[-1, 5\]\n/,
    );
    assert.match(run.stderr, /warning: v2 of reshaped-diff has another signature than stable v1/);
    await sluice('rollback', 'reshaped-diff');
  });
});

describe('sluice deploy: a label change is refused unless --allow-label-change', () => {
  it('refuses the same bytes with the labels in another order (exit 2, nothing routed), and deploys them when allowed', async () => {
    await publishPinnedIris(test, 'relabelled');
    const sample = await irisSample();
    // Golden examples compare class indices: they pass with the labels reversed.
    await publishIrisAs(test, 'relabelled', { ...sample.extras, labels: [...IRIS_LABELS].reverse() });
    const refused = await sluice('deploy', 'relabelled', '--version', '2', '--strategy', 'manual');
    assert.equal(refused.code, ExitCode.USAGE, describeRun(refused));
    assert.match(
      refused.stdout,
      /\n {2}labels {11}reordered: \[setosa, versicolor, virginica\] -> \[virginica, versicolor, setosa\]\n/,
    );
    assert.match(
      refused.stderr,
      /^sluice: v2 of relabelled changes the labels of stable v1 \(reordered: \[setosa, versicolor, virginica\] -> \[virginica, versicolor, setosa\]\): clients reading labels would get other class names/,
    );
    assert.match(refused.stderr, /pass --allow-label-change to deploy it anyway\n$/);
    const state = await rolloutStoreOf(test).current('relabelled');
    assert.deepEqual([state?.status, state?.stable, state?.candidate], ['idle', 1, undefined]);

    const json = await sluice('deploy', 'relabelled', '--version', '2', '--strategy', 'manual', '--json');
    assert.equal(json.code, ExitCode.USAGE, describeRun(json));
    assert.match(z.object({ error: z.string() }).parse(JSON.parse(json.stdout)).error, /changes the labels/);

    const allowed = await sluice(
      'deploy',
      'relabelled',
      '--version',
      '2',
      '--strategy',
      'manual',
      '--allow-label-change',
      '--json',
    );
    assert.equal(allowed.code, 0, describeRun(allowed));
    const deployed = DeployJsonSchema.parse(JSON.parse(allowed.stdout));
    assert.deepEqual(
      [deployed.result, deployed.candidate, deployed.changes.labels.change],
      ['rolling', 2, 'reordered'],
    );
    await sluice('rollback', 'relabelled');
  });

  it('refuses labels added, removed or renamed too', async () => {
    await publishPinnedIris(test, 'renamed');
    const sample = await irisSample();
    await publishIrisAs(test, 'renamed', {
      ...sample.extras,
      labels: ['setosa', 'versicolor', 'iris-virginica'],
    });
    await publishIrisAs(test, 'renamed', { goldenExamples: sample.extras.goldenExamples ?? [] });
    const renamed = await sluice('deploy', 'renamed', '--version', '2', '--strategy', 'manual');
    assert.equal(renamed.code, ExitCode.USAGE, describeRun(renamed));
    assert.match(
      renamed.stderr,
      /\(changed: \[setosa, versicolor, virginica\] -> \[setosa, versicolor, iris-virginica\]\)/,
    );
    const removed = await sluice('deploy', 'renamed', '--version', '3', '--strategy', 'manual');
    assert.equal(removed.code, ExitCode.USAGE, describeRun(removed));
    assert.match(removed.stderr, /\(removed: \[setosa, versicolor, virginica\] -> none\)/);
  });
});

describe('sluice deploy: a model with no rollout state yet', () => {
  it('shows the changes from the stable version the deploy chose, and warns of a label change it could not refuse', async () => {
    const sample = await irisSample();
    // Never deployed nor requested: the stack records no state until the deploy picks v1 as the stable version.
    await publishIrisAs(test, 'stateless');
    await publishIrisAs(test, 'stateless', { ...sample.extras, labels: [...IRIS_LABELS].reverse() });
    assert.equal(await rolloutStoreOf(test).current('stateless'), undefined);
    const run = await sluice('deploy', 'stateless', '--version', '2', '--strategy', 'manual');
    assert.equal(run.code, 0, describeRun(run));
    assert.match(
      run.stdout,
      /changes from stable v1 to v2:\n(.*\n)* {2}labels {11}reordered: .*\n(.*\n)* {2}\(v1 became the stable version as the deploy started\)\n/,
    );
    assert.match(
      run.stderr,
      /^warning: v2 of stateless changes the labels of v1 \(reordered: .*\); not refused, as stateless had no stable version recorded before this deploy: `sluice rollback stateless --local` undoes it\n$/,
    );
    await sluice('rollback', 'stateless');
  });
});

/** Runs `sluice deploy ARGS --local` through its command in this process, with a sleep that records its waits. */
async function deployCommand(args: readonly string[], sleep: (ms: number) => Promise<void>) {
  let stdout = '';
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: () => undefined,
    interactive: false,
    env: { SLUICE_HOME: test.home },
    sleep,
  };
  const program = new Command('sluice').exitOverride();
  registerDeployCommand(program, io);
  try {
    await program.parseAsync(['deploy', ...args, '--local'], { from: 'user' });
    return { stdout, error: undefined };
  } catch (error) {
    return { stdout, error };
  }
}

describe('sluice deploy --timeout: stops following, and the rollout keeps running', () => {
  it('ends after the timeout by the follower clock with exit code 3 and says how to follow again', async () => {
    await publishPinnedIris(test, 'timed');
    await publishIrisAs(test, 'timed');
    const waits: number[] = [];
    // The follower's clock moves only by its own waits: each returns at once, as if that time had passed.
    const sleep = async (ms: number) => {
      waits.push(ms);
    };
    const run = await deployCommand(
      ['timed', '--version', '2', '--interval', '1h', '--timeout', '2500ms'],
      sleep,
    );
    assert.ok(run.error instanceof FollowTimeoutError, String(run.error));
    assert.equal(run.error.exitCode, 3);
    assert.notEqual(run.error.exitCode, ExitCode.OK);
    assert.match(
      run.error.message,
      /^stopped following after 2\.5s \(--timeout\): the rollout of timed v2 keeps running in the local stack \(v1 100%; v2 shadows 10% of the requests unseen \(shadow phase\)\); follow it again with `sluice deploy timed --version 2 --local`, read it with `sluice status timed --local`$/,
    );
    assert.match(run.stdout, /following \(Ctrl-C stops following, and so does --timeout after 2\.5s;/);
    // Reads a second apart, the last wait cut to the deadline, then one last read at the deadline itself.
    assert.deepEqual(waits, [1000, 1000, 500]);
    const state = await rolloutStoreOf(test).current('timed');
    assert.deepEqual([state?.status, state?.candidate], ['rolling', 2], 'the rollout keeps running');

    const again = await deployCommand(['timed', '--version', '2', '--timeout', '1s'], sleep);
    assert.ok(again.error instanceof FollowTimeoutError, String(again.error));
    assert.match(again.stdout, /^resuming the rollout of timed v2/m);
    await sluice('rollback', 'timed');
  });

  it('refuses a timeout that is not a duration above 0 (exit 2)', async () => {
    const [bad, zero] = await Promise.all([
      sluice('deploy', 'timed', '--version', '2', '--timeout', 'soon'),
      sluice('deploy', 'timed', '--version', '2', '--timeout', '0'),
    ]);
    assert.equal(bad.code, ExitCode.USAGE, describeRun(bad));
    assert.match(bad.stderr, /--timeout: invalid duration "soon"/);
    assert.equal(zero.code, ExitCode.USAGE, describeRun(zero));
    assert.match(zero.stderr, /--timeout must be above 0; use --no-wait not to follow at all/);
  });
});
