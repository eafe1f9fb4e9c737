import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
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
