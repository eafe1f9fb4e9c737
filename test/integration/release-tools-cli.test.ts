import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as z from 'zod';
import { planRollout } from '../../lib/core/rollout/plan-rollout.js';
import { RolloutEventSchema } from '../../lib/core/rollout/RolloutState.js';
import { SAMPLE_MODELS } from '../../lib/local/sample-models.js';
import { startTestStack, type TestStack } from '../fixtures/local-stack.js';
import { IRIS_ROW, irisSample, localEngine, publishIrisAs, publishPinnedIris } from '../fixtures/rollouts.js';
import { describeRun, type RunningCli, runSluiceInProcess, startSluice } from '../fixtures/sluice-cli.js';

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

describe('the exit codes of runCli', () => {
  it('exits 3 when deploy --timeout stops following, the rollout still running', async () => {
    await publishPinnedIris(test, 'timed');
    await publishIrisAs(test, 'timed');
    const run = await runSluiceInProcess(
      ['deploy', 'timed', '--version', '2', '--interval', '1h', '--timeout', '1s', '--local'],
      test.home,
      {},
      // The follower's waits return at once, as if that time had passed.
      { sleep: async () => undefined },
    );
    assert.equal(run.code, 3, describeRun(run));
    assert.match(run.stderr, /^sluice: stopped following after 1s \(--timeout\)/);
    await localEngine(test, 'cli').rollback('timed', 'done with it');
  });
});

describe('sluice retire: a version no rollout is started to again', () => {
  it('refuses a routed version: the stable, the candidate, the newest of a model never deployed', async () => {
    const runs = await Promise.all([
      sluice('retire', 'rolling', '1'),
      sluice('retire', 'rolling', '2'),
      sluice('retire', 'steady', '1'),
      sluice('retire', 'fresh', '1'),
    ]);
    for (const run of runs) {
      assert.equal(run.code, 1, describeRun(run));
      assert.match(run.stderr, /cannot be retired while routed/);
    }
    assert.match(runs[0]?.stderr ?? '', /rolling v1 is the stable version: it takes 90% of the traffic/);
    assert.match(
      runs[1]?.stderr ?? '',
      /rolling v2 is the candidate of the rollout in progress: it takes 10%/,
    );
    assert.match(runs[3]?.stderr ?? '', /fresh v1 is the newest version of a model never deployed/);
    assert.equal(await test.stack.registry.retirement('rolling', 1), undefined);
  });

  it('retires a version outside the rollout, once; deploy refuses it after; versions marks it', async () => {
    // rolling v3 (published by the diff tests above) is neither stable nor candidate.
    const run = await sluice('retire', 'rolling', '3', '--reason', 'labels out of order');
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /^retired rolling v3 on local stack .*: no rollout is started to it again/);
    const again = await sluice('retire', 'rolling', '3', '--json');
    assert.equal(again.code, 0, describeRun(again));
    assert.deepEqual(
      z.object({ result: z.string(), reason: z.string(), actor: z.string() }).parse(JSON.parse(again.stdout)),
      { result: 'already-retired', reason: 'labels out of order', actor: 'cli' },
      'the first retirement stays',
    );

    await localEngine(test, 'cli').rollback('rolling', 'make room for v3');
    const deploy = await sluice('deploy', 'rolling', '--version', '3', '--allow-label-change', '--no-wait');
    assert.equal(deploy.code, 1, describeRun(deploy));
    assert.match(deploy.stderr, /rolling v3 is retired \(by cli at \S+: labels out of order\)/);
    assert.equal(
      (await test.stack.rollouts.current('rolling'))?.candidate,
      undefined,
      'nothing was routed to it',
    );

    const versions = await sluice('versions', 'rolling', '--json');
    const listed = z
      .object({
        versions: z.array(z.object({ version: z.number(), retired: z.object({}).passthrough().optional() })),
      })
      .parse(JSON.parse(versions.stdout));
    assert.deepEqual(
      listed.versions.map((entry) => [entry.version, entry.retired !== undefined]),
      [
        [1, false],
        [2, false],
        [3, true],
      ],
    );
  });

  it('publishing the bytes of a retired newest version again makes a new version instead of handing it back', async () => {
    // v3's bytes and extras, as the diff tests above published them.
    const { extras } = await irisSample();
    const extrasFile = join(files, 'v3-extras.json');
    await writeFile(
      extrasFile,
      JSON.stringify({
        ...extras,
        labels: ['versicolor', 'setosa', 'virginica'],
        goldenExamples: extras.goldenExamples?.slice(1),
        description: 'reordered',
      }),
    );
    const publish = () =>
      sluice('publish', SAMPLE_MODELS[0].modelPath, '--model', 'rolling', '--extras', extrasFile, '--json');
    const PublishedSchema = z.object({ version: z.number(), alreadyPublished: z.boolean() });
    const first = await publish();
    assert.equal(first.code, 0, describeRun(first));
    assert.deepEqual(PublishedSchema.parse(JSON.parse(first.stdout)), {
      version: 4,
      alreadyPublished: false,
    });
    // The same publish again is a retry of v4, which is not retired: it is handed back.
    const retry = await publish();
    assert.deepEqual(PublishedSchema.parse(JSON.parse(retry.stdout)), { version: 4, alreadyPublished: true });
  });

  it('refuses a version that is not published (exit 1), and a bad version number (exit 2)', async () => {
    const [missing, bad] = await Promise.all([
      sluice('retire', 'rolling', '9'),
      sluice('retire', 'rolling', 'x'),
    ]);
    assert.equal(missing.code, 1, describeRun(missing));
    assert.match(missing.stderr, /model "rolling" has no version 9/);
    assert.equal(bad.code, 2, describeRun(bad));
  });
});

/** What `sluice logs --local --json` prints per line. */
const LocalLogLineSchema = z.object({
  at: z.string(),
  version: z.number().optional(),
  level: z.string(),
  message: z.string(),
  fields: z.record(z.string(), z.unknown()),
});

/** Resolves once the running CLI's stdout satisfies `done` (it is checked at each chunk; no clock of its own). */
function outputUntil(cli: RunningCli, done: (stdout: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const { stdout } = cli.output();
      if (done(stdout)) {
        cli.child.stdout.off('data', check);
        resolve(stdout);
      }
    };
    cli.child.stdout.on('data', check);
    cli.done.then((run) => reject(new Error(`sluice exited before: ${describeRun(run)}`)), reject);
    check();
  });
}

describe('sluice logs --local: what the local stack logged about a model', () => {
  it('prints the lines naming the model, with the version they concern, as JSON lines', async () => {
    const refused = await test.request('POST', '/models/steady/predict', { instances: [[1, 2]] });
    assert.equal(refused.status, 400);
    const run = await sluice('logs', 'steady', '--json');
    assert.equal(run.code, 0, describeRun(run));
    const lines = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) => LocalLogLineSchema.parse(JSON.parse(line)));
    const line = lines.find((candidate) => candidate.message === 'request refused');
    assert.ok(line, run.stdout);
    assert.deepEqual([line.version, line.level, line.fields.status], [1, 'INFO', 400]);
    assert.ok(
      lines.every((candidate) => candidate.fields.model === undefined),
      'the model is the one asked for',
    );
  });

  it('keeps to the version asked for: the lines of the version served, or naming it as stable or candidate', async () => {
    for (const version of [1, 2]) {
      const reply = await test.request('POST', `/models/rolling/versions/${version}/predict`, {
        instances: [[1]],
      });
      assert.equal(reply.status, 400);
    }
    const [two, one] = await Promise.all([
      sluice('logs', 'rolling', '--version', '2', '--json'),
      sluice('logs', 'rolling', '--version', '1', '--json'),
    ]);
    for (const [run, version] of [
      [two, 2],
      [one, 1],
    ] as const) {
      assert.equal(run.code, 0, describeRun(run));
      const lines = run.stdout
        .trimEnd()
        .split('\n')
        .map((line) => LocalLogLineSchema.parse(JSON.parse(line)));
      const paths = lines.map((line) => line.fields.path);
      assert.ok(paths.includes(`/models/rolling/versions/${version}/predict`), run.stdout);
      assert.ok(!paths.includes(`/models/rolling/versions/${3 - version}/predict`), run.stdout);
    }
  });

  it('the logs route refuses a bad query with a 400 naming it', async () => {
    const [model, version, after] = await Promise.all([
      test.request('GET', '/_sluice/logs?model=Bad%20Name'),
      test.request('GET', '/_sluice/logs?model=iris&version=two'),
      test.request('GET', '/_sluice/logs?model=iris&after=-1'),
    ]);
    assert.deepEqual([model.status, version.status, after.status], [400, 400, 400]);
    assert.match(model.text, /model must be a model name/);
    assert.match(version.text, /version must be a version number/);
    assert.match(after.text, /after must be a line number/);
  });

  it('--follow prints new lines as the stack logs them, until Ctrl-C (a real process)', async (t) => {
    const cli = startSluice(['logs', 'steady', '--local', '--follow'], test.home, t.signal);
    const first = await outputUntil(cli, (stdout) => stdout.includes('request refused'));
    const before = first.split('\n').filter((line) => line.includes('request refused')).length;
    const reply = await test.request('POST', '/models/steady/predict', { instances: [[1, 2, 3]] });
    assert.equal(reply.status, 400);
    await outputUntil(
      cli,
      (stdout) => stdout.split('\n').filter((line) => line.includes('request refused')).length > before,
    );
    cli.child.kill('SIGINT');
    const run = await cli.done;
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /^\S+Z {2}v1 {2}INFO {2}request refused {2}\{"requestId":/m);
  });
});
