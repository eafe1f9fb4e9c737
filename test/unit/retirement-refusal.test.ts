import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planRollout } from '../../lib/core/rollout/plan-rollout.js';
import { retirementRefusal } from '../../lib/core/rollout/retirement-refusal.js';
import { firstDeploy, startRollout } from '../../lib/core/rollout/rollout-transitions.js';

const T0 = Date.parse('2026-11-30T10:00:00.000Z');
const idle = firstDeploy({ model: 'iris', version: 2, actor: 'cli', now: T0 });
const rolling = startRollout(idle, {
  model: 'iris',
  candidate: 3,
  plan: planRollout({ strategy: 'manual', weight: 10 }),
  actor: 'cli',
  now: T0,
});
const shadowing = startRollout(idle, {
  model: 'iris',
  candidate: 3,
  plan: planRollout({ strategy: 'canary', shadowPercent: 10 }),
  actor: 'cli',
  now: T0,
});

describe('retirementRefusal: a version is not retired while it is routed', () => {
  const cases: [string, Parameters<typeof retirementRefusal>, RegExp | undefined][] = [
    [
      'the stable version of an idle model',
      [idle, 2, 4],
      /v2 is the stable version: it takes 100% of the traffic/,
    ],
    ['an older version of an idle model', [idle, 1, 4], undefined],
    ['a newer version not deployed', [idle, 4, 4], undefined],
    [
      'the stable version while rolling',
      [rolling, 2, 4],
      /v2 is the stable version: it takes 90% of the traffic/,
    ],
    [
      'the candidate while rolling',
      [rolling, 3, 4],
      /v3 is the candidate of the rollout in progress: it takes 10%/,
    ],
    ['the candidate in its shadow phase', [shadowing, 3, 4], /v3 is the candidate .* \(shadow phase\)/],
    ['a version outside the rollout', [rolling, 1, 4], undefined],
    [
      'the newest version of a model never deployed',
      [undefined, 4, 4],
      /never deployed: it answers the unversioned/,
    ],
    ['an older version of a model never deployed', [undefined, 3, 4], undefined],
  ];
  for (const [name, args, refused] of cases) {
    it(`${name}: ${refused ? 'refused' : 'may be retired'}`, () => {
      const refusal = retirementRefusal(...args);
      if (refused) assert.match(refusal ?? '', refused);
      else assert.equal(refusal, undefined);
    });
  }
});
