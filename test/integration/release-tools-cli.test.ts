import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { planRollout } from '../../lib/core/rollout/plan-rollout.js';
import { RolloutEventSchema } from '../../lib/core/rollout/RolloutState.js';
import { startTestStack, type TestStack } from '../fixtures/local-stack.js';
import { IRIS_ROW, irisSample, localEngine, publishIrisAs, publishPinnedIris } from '../fixtures/rollouts.js';
import { describeRun, runSluiceInProcess } from '../fixtures/sluice-cli.js';

/** What `sluice models --json` prints, as far as these tests read it. */
const ModelsJsonSchema = z.object({
  models: z.array(
    z.object({
      model: z.string(),
      newest: z.number().optional(),
      status: z.enum(['idle', 'rolling', 'none']).optional(),
      stable: z.number().optional(),
      candidate: z.number().optional(),
      weight: z.number().optional(),
      minRequests: z.number().optional(),
      health: z
        .object({
          verdict: z.string(),
          reasons: z.array(z.string()),
          candidateRequests: z.number().optional(),
        })
        .optional(),
      lastEvent: RolloutEventSchema.optional(),
      error: z.string().optional(),
    }),
  ),
});

let test: TestStack;
let files: string;

/** `sluice ARGS --local` against the test stack, in this process. */
function sluice(...args: string[]) {
  return runSluiceInProcess([...args, '--local'], test.home);
}

before(async () => {
  test = await startTestStack({ publishSamples: false });
  files = await mkdtemp(join(tmpdir(), 'sluice-release-tools-'));
  // steady: v1 stable, nothing rolling. rolling: v1 stable, v2 at 10 % on a manual plan. fresh: never deployed.
  await publishPinnedIris(test, 'steady');
  await publishPinnedIris(test, 'rolling');
  const { extras } = await irisSample();
  await publishIrisAs(test, 'rolling', { ...extras, description: 'the candidate' });
  await localEngine(test, 'cli').deploy('rolling', {
    version: 2,
    plan: planRollout({ strategy: 'manual', weight: 10, minRequests: 5 }),
  });
  await publishIrisAs(test, 'fresh');
});

after(async () => {
  await test?.stop();
  await rm(files, { recursive: true, force: true });
});

describe('sluice models: every model in one view', () => {
  it('shows stable, candidate, weight, gate figures and the last event of each model (--json)', async () => {
    const run = await sluice('models', '--json');
    assert.equal(run.code, 0, describeRun(run));
    const { models } = ModelsJsonSchema.parse(JSON.parse(run.stdout));
    assert.deepEqual(
      models.map((model) => model.model),
      ['fresh', 'rolling', 'steady'],
    );
    const [fresh, rolling, steady] = models;
    assert.deepEqual(fresh, { model: 'fresh', newest: 1, status: 'none' });
    assert.deepEqual(
      [steady?.status, steady?.stable, steady?.candidate, steady?.weight, steady?.newest],
      ['idle', 1, undefined, 0, 1],
    );
    assert.equal(steady?.lastEvent?.action, 'deploy');
    assert.deepEqual(
      [rolling?.status, rolling?.stable, rolling?.candidate, rolling?.weight, rolling?.minRequests],
      ['rolling', 1, 2, 10, 5],
    );
    assert.equal(rolling?.health?.verdict, 'unknown', 'no request has reached the candidate yet');
    assert.equal(rolling?.health?.candidateRequests, 0);
    assert.deepEqual([rolling?.lastEvent?.action, rolling?.lastEvent?.actor], ['deploy', 'cli']);
  });

  it('prints one row per model for people, the candidate with its weight, step and evidence', async () => {
    // Five requests through the alias: the cycling draws of the stack route some of them to the candidate.
    for (let request = 0; request < 5; request++) {
      const reply = await test.request('POST', '/models/rolling/predict', { instances: [IRIS_ROW] });
      assert.equal(reply.status, 200, reply.text);
    }
    const run = await sluice('models');
    assert.equal(run.code, 0, describeRun(run));
    const [header, ...rows] = run.stdout.trimEnd().split('\n');
    assert.match(header ?? '', /^MODEL +NEWEST +STABLE +CANDIDATE +WEIGHT +PHASE +GATES +LAST EVENT$/);
    assert.match(rows[0] ?? '', /^fresh +v1 +- +- +- +never deployed +- +-$/);
    assert.match(
      rows[1] ?? '',
      /^rolling +v2 +v1 +v2 +10% +step 1 of 2 +\w+; \d+ of 5 requests +\S+ deploy by cli/,
    );
    assert.match(rows[2] ?? '', /^steady +v1 +v1 +- +- +idle +- +\S+ deploy by test/);
  });
});

describe('sluice predict: one request through the HTTP contract', () => {
  it('sends --rows in the simple form and prints each prediction with its labels', async () => {
    const run = await sluice('predict', 'steady', '--rows', `[${JSON.stringify(IRIS_ROW)}]`);
    assert.equal(run.code, 0, describeRun(run));
    assert.match(
      run.stdout,
      /^steady v1 answered:\n {2}\[0\] \{"label":"setosa","probabilities":\{"setosa":0\.9/,
    );
  });

  it('sends a V2 body from --file to the version asked for, and prints the answer as it came with --json', async () => {
    const body = join(files, 'v2.json');
    await writeFile(
      body,
      JSON.stringify({
        id: 'r-1',
        inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: IRIS_ROW }],
      }),
    );
    const run = await sluice('predict', 'rolling', '--version', '2', '--file', body, '--json');
    assert.equal(run.code, 0, describeRun(run));
    const answer = z
      .object({
        model_name: z.string(),
        model_version: z.string(),
        id: z.string(),
        outputs: z.array(z.object({ name: z.string(), data: z.array(z.unknown()) })),
      })
      .parse(JSON.parse(run.stdout));
    assert.deepEqual([answer.model_name, answer.model_version, answer.id], ['rolling', '2', 'r-1']);
    assert.deepEqual(
      answer.outputs.map((output) => output.name),
      ['label', 'probabilities'],
    );
  });

  it("exits 1 with the server's own error when it refuses the request", async () => {
    const run = await sluice('predict', 'steady', '--rows', '[[1, 2]]');
    assert.equal(run.code, 1, describeRun(run));
    assert.match(
      run.stderr,
      /^sluice: steady: the server answered 400: input "features": dimension 1 is 2, expected 4/,
    );
  });

  it('refuses what it cannot send as a usage error: no body, a body that is not JSON, no server', async () => {
    const notJson = join(files, 'notes.txt');
    await writeFile(notJson, 'not json');
    const runs = await Promise.all([
      sluice('predict', 'steady'),
      sluice('predict', 'steady', '--file', notJson),
      sluice('predict', 'steady', '--rows', '{"a": 1}'),
      runSluiceInProcess(['predict', 'steady', '--rows', '[[1]]'], test.home),
      sluice('predict', 'steady', '--rows', '[[1]]', '--header', 'no colon'),
    ]);
    for (const run of runs) assert.equal(run.code, 2, describeRun(run));
    assert.match(runs[0]?.stderr ?? '', /needs something to send: --rows JSON, or --file/);
    assert.match(runs[1]?.stderr ?? '', /notes\.txt is not JSON/);
    assert.match(runs[2]?.stderr ?? '', /--rows must be a JSON list of rows/);
    assert.match(runs[3]?.stderr ?? '', /needs a server: --local .* or --url URL/);
    assert.match(runs[4]?.stderr ?? '', /--header must be "Name: value"/);
  });

  it('sends to --url with the headers given, as a client of the deployed API would', async () => {
    const run = await runSluiceInProcess(
      [
        'predict',
        'steady',
        '--url',
        `${test.url}/`,
        '--header',
        'x-api-key: abc',
        '--rows',
        '[[5.1,3.5,1.4,0.2]]',
      ],
      test.home,
    );
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /^steady v1 answered:/);
  });
});

describe('sluice diff: what changes between two versions', () => {
  it('names the changed description and the unchanged bytes, signature, labels and golden examples', async () => {
    const run = await sluice('diff', 'rolling', '1', '2');
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /^rolling v1 -> v2\n/);
    assert.match(run.stdout, /\n {2}sha256 +same \([0-9a-f]{12}\): the same bytes\n/);
    assert.match(run.stdout, /\n {2}inputs\/outputs +same\n/);
    assert.match(run.stdout, /\n {2}labels +same \[setosa, versicolor, virginica\]\n/);
    assert.match(run.stdout, /\n {2}golden examples +3, the same\n/);
    assert.match(run.stdout, /\n {2}description +"Iris species.*" -> "the candidate"\n/);
  });

  it('tells reordered labels apart from changed ones, and counts the golden examples in common (--json)', async () => {
    const { extras } = await irisSample();
    const [first, ...rest] = extras.goldenExamples ?? [];
    await publishIrisAs(test, 'rolling', {
      ...extras,
      labels: ['versicolor', 'setosa', 'virginica'],
      goldenExamples: rest,
      description: 'reordered',
    });
    assert.ok(first);
    const run = await sluice('diff', 'rolling', '2', '3', '--json');
    assert.equal(run.code, 0, describeRun(run));
    const diff = z
      .object({
        from: z.number(),
        to: z.number(),
        labels: z.object({ change: z.string() }),
        golden: z.object({ from: z.number(), to: z.number(), common: z.number() }),
        sha256: z.object({ same: z.boolean() }),
      })
      .parse(JSON.parse(run.stdout));
    assert.deepEqual(
      [diff.from, diff.to, diff.labels.change, diff.golden, diff.sha256.same],
      [2, 3, 'reordered', { from: 3, to: 2, common: 2 }, true],
    );
    const text = await sluice('diff', 'rolling', '2', '3');
    assert.match(
      text.stdout,
      /labels +reordered: \[setosa, versicolor, virginica\] -> \[versicolor, setosa, virginica\]/,
    );
    assert.match(text.stdout, /golden examples +3 -> 2 \(2 in both, 1 only in v2, 0 only in v3\)/);
  });

  it('exits 1 naming the version that does not exist', async () => {
    const run = await sluice('diff', 'rolling', '1', '9');
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stderr, /model "rolling" has no version 9/);
  });
});
