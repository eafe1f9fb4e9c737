import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planRollout } from '../../lib/core/rollout/plan-rollout.js';
import type { RolloutState } from '../../lib/core/rollout/RolloutState.js';
import {
  CDK_ACTOR,
  decideRelease,
  ProvisionedConcurrencyStep,
  type ReleaseDecision,
  type ReleaseSituation,
} from '../../lib/core/rollout/release-decision.js';
import type { ReleaseEvent, ReleaseProperties } from '../../lib/core/rollout/release-event.js';
import {
  promote,
  releasedOnNewFunction,
  rollback,
  startRollout,
} from '../../lib/core/rollout/rollout-transitions.js';

const FUNCTION = 'Sluice-ModelirisFunction-AbC';
const OTHER_FUNCTION = 'Sluice-ModelirisFunction-XyZ';
const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);
const T0 = 1_800_000_000_000;
const PLAN = planRollout({ strategy: 'canary', shadowPercent: 0 });

/** Release properties: the model version, its sha256, the Lambda version CloudFormation published, the PC. */
function props(
  version: number,
  lambdaVersion: string,
  overrides: Partial<ReleaseProperties> = {},
): ReleaseProperties {
  return {
    FunctionName: FUNCTION,
    Model: 'iris',
    ModelVersion: String(version),
    Sha256: version === 2 ? SHA_B : SHA_A,
    LambdaVersion: lambdaVersion,
    Plan: PLAN,
    ProvisionedConcurrency: '0',
    ...overrides,
  };
}

const ids = {
  StackId: 'stack',
  RequestId: 'r',
  LogicalResourceId: 'ModelirisRelease',
  ResourceType: 'Custom::SluiceRelease',
};
const create = (p: ReleaseProperties): ReleaseEvent => ({
  RequestType: 'Create',
  ...ids,
  ResourceProperties: p,
});
const update = (
  p: ReleaseProperties,
  old: ReleaseProperties,
  physicalId = `${FUNCTION}:live`,
): ReleaseEvent => ({
  RequestType: 'Update',
  ...ids,
  PhysicalResourceId: physicalId,
  ResourceProperties: p,
  OldResourceProperties: old,
});
const del: ReleaseEvent = {
  RequestType: 'Delete',
  ...ids,
  PhysicalResourceId: `${FUNCTION}:live`,
  ResourceProperties: {},
};

// The states a model passes through, built by the real transitions.
/** The alias as the release created it: v1 in Lambda version 1 of FUNCTION. */
const created = releasedOnNewFunction(undefined, {
  model: 'iris',
  version: 1,
  build: '1',
  functionName: FUNCTION,
  actor: CDK_ACTOR,
  now: T0,
});
/** cdk deploy rolling v2 out in Lambda version 2. */
const cdkRolling = startRollout(created, {
  model: 'iris',
  candidate: 2,
  candidateBuild: '2',
  plan: PLAN,
  actor: CDK_ACTOR,
  now: T0 + 60_000,
});
/** That rollout promoted: v2 in Lambda version 2 is stable. */
const cdkPromoted = promote(cdkRolling, { weight: 100, actor: 'scheduler', now: T0 + 600_000 });
/** `sluice deploy` rolling v3 out in a build of its own (Lambda version 3). */
const cliRolling = startRollout(created, {
  model: 'iris',
  candidate: 3,
  candidateBuild: '3',
  plan: PLAN,
  actor: 'cli',
  now: T0 + 60_000,
});
/** `sluice deploy` promoted v3 in Lambda version 3; the config still names v1. */
const cliPromoted = promote(cliRolling, { weight: 100, actor: 'cli', now: T0 + 600_000 });
/** cdk deploy's rollout of v2 rolled back by its alarm. */
const cdkRolledBack = rollback(cdkRolling, { reason: 'errors alarm', actor: 'alarm', now: T0 + 120_000 });
/** A state an earlier function of the model left, rolling. */
const otherFunctionRolling: RolloutState = { ...cdkRolling, functionName: OTHER_FUNCTION };

interface Row {
  readonly name: string;
  readonly situation: ReleaseSituation;
  /** The decision's kind and the fields that matter. */
  readonly expected: Partial<ReleaseDecision> & { kind: ReleaseDecision['kind'] };
}

const rows: Row[] = [
  // Create
  {
    name: 'create: first deploy, no state',
    situation: { event: create(props(1, '1')), state: undefined, served: { version: 1 } },
    expected: { kind: 'create', writeState: true, provisionedConcurrency: 'after' },
  },
  {
    name: 'create, retried: its own state is there',
    situation: { event: create(props(1, '1')), state: created, served: { version: 1 } },
    expected: { kind: 'create', writeState: false },
  },
  {
    name: 'create of a model added again: the state is an earlier function’s',
    situation: {
      event: create(props(1, '1')),
      state: { ...created, functionName: OTHER_FUNCTION },
      served: { version: 1 },
    },
    expected: { kind: 'create', writeState: true },
  },
  {
    name: 'create over an earlier function’s rollout in progress',
    situation: { event: create(props(1, '1')), state: otherFunctionRolling, served: { version: 1 } },
    expected: { kind: 'create', writeState: true },
  },
  {
    name: 'update of a replaced function (new physical id) creates',
    situation: {
      event: update(props(1, '1', { FunctionName: OTHER_FUNCTION }), props(1, '4')),
      state: created,
      served: { version: 1 },
    },
    expected: { kind: 'create', writeState: true },
  },
  // Update
  {
    name: 'update: a new model version',
    situation: { event: update(props(2, '2'), props(1, '1')), state: created },
    expected: { kind: 'roll-out', candidate: 2, build: '2', provisionedConcurrency: 'keep' },
  },
  {
    name: 'update, retried while its rollout runs: resume from when it started',
    situation: { event: update(props(2, '2'), props(1, '1')), state: cdkRolling },
    expected: { kind: 'resume', candidate: 2, build: '2', startedAt: T0 + 60_000 },
  },
  {
    name: 'update: code-only, the config’s version is stable',
    situation: { event: update(props(1, '2'), props(1, '1')), state: created },
    expected: { kind: 'roll-out', candidate: 1, build: '2', compareWith: '1' },
  },
  {
    name: 'update: code-only, sluice deploy promoted another version',
    situation: { event: update(props(1, '4'), props(1, '1')), state: cliPromoted },
    expected: { kind: 'roll-out-new-code', candidate: 3, configured: 1, compareWith: '3' },
  },
  {
    name: 'update: the config now names the promoted version',
    situation: { event: update(props(3, '4'), props(1, '1')), state: cliPromoted },
    expected: { kind: 'roll-out', candidate: 3, build: '4', compareWith: '3' },
  },
  {
    name: 'update: plan only',
    situation: {
      event: update(props(1, '1', { Plan: planRollout({ strategy: 'all-at-once' }) }), props(1, '1')),
      state: created,
    },
    expected: { kind: 'none', provisionedConcurrency: 'keep' },
  },
  {
    name: 'update: provisioned concurrency only, alias not weighted',
    situation: {
      event: update(props(1, '1', { ProvisionedConcurrency: '5' }), props(1, '1')),
      state: created,
    },
    expected: { kind: 'none', provisionedConcurrency: 'before' },
  },
  {
    name: 'update: new version and provisioned concurrency: raised before any weight',
    situation: {
      event: update(props(2, '2', { ProvisionedConcurrency: '5' }), props(1, '1')),
      state: created,
    },
    expected: { kind: 'roll-out', provisionedConcurrency: 'before' },
  },
  {
    name: 'update: provisioned concurrency while sluice deploy’s rollout weights the alias',
    situation: {
      event: update(props(1, '1', { ProvisionedConcurrency: '5' }), props(1, '1')),
      state: cliRolling,
    },
    expected: { kind: 'refuse' },
  },
  {
    name: 'update: plan only while sluice deploy rolls: nothing to do',
    situation: {
      event: update(props(1, '1', { Plan: planRollout({ strategy: 'all-at-once' }) }), props(1, '1')),
      state: cliRolling,
    },
    expected: { kind: 'none' },
  },
  {
    name: 'update: a new version while sluice deploy rolls',
    situation: { event: update(props(2, '2'), props(1, '1')), state: cliRolling },
    expected: { kind: 'refuse' },
  },
  {
    name: 'update: no state, what serves is read from the alias',
    situation: {
      event: update(props(2, '2'), props(1, '1')),
      state: undefined,
      served: { version: 1, build: '1' },
    },
    expected: { kind: 'roll-out', candidate: 2 },
  },
  {
    name: 'update: the stable build named again after a rollback',
    situation: { event: update(props(1, '1'), props(2, '2')), state: cdkRolledBack },
    expected: { kind: 'none' },
  },
  // Rollback Update (CloudFormation rolls the stack back: the old properties come back)
  {
    name: 'rollback update during cdk deploy’s own rollout: end it',
    situation: { event: update(props(1, '1'), props(2, '2')), state: cdkRolling },
    expected: { kind: 'end-own-rollout', provisionedConcurrency: 'keep' },
  },
  {
    name: 'rollback update during its own rollout, provisioned concurrency back too: after the weights are gone',
    situation: {
      event: update(props(1, '1'), props(2, '2', { ProvisionedConcurrency: '5' })),
      state: cdkRolling,
    },
    expected: { kind: 'end-own-rollout', provisionedConcurrency: 'after' },
  },
  {
    name: 'rollback update, retried after the rollout ended',
    situation: {
      event: update(props(1, '1'), props(2, '2')),
      state: rollback(cdkRolling, { reason: 'stack rolled back', actor: CDK_ACTOR, now: T0 + 200_000 }),
    },
    expected: { kind: 'none' },
  },
  {
    name: 'rollback update of a sibling cdk deploy promoted: back at once',
    situation: { event: update(props(1, '1'), props(2, '2')), state: cdkPromoted },
    expected: { kind: 'revert-at-once', version: 1, build: '1' },
  },
  {
    name: 'rollback update, retried after the revert',
    situation: {
      event: update(props(1, '1'), props(2, '2')),
      state: promote(
        startRollout(cdkPromoted, {
          model: 'iris',
          candidate: 1,
          candidateBuild: '1',
          plan: planRollout({ strategy: 'all-at-once', shadowPercent: 0 }),
          actor: CDK_ACTOR,
          now: T0 + 700_000,
        }),
        { weight: 100, actor: CDK_ACTOR, now: T0 + 700_001 },
      ),
    },
    expected: { kind: 'none' },
  },
  {
    name: 'a config reverted by hand after a sluice deploy promotion is a rollout like any other',
    situation: { event: update(props(1, '1'), props(3, '3')), state: cliPromoted },
    expected: { kind: 'roll-out', candidate: 1, build: '1' },
  },
  {
    name: 'rollback update of a code-only release cdk deploy promoted (sluice upgraded): back to the old build at once',
    situation: {
      event: update(props(1, '1'), props(1, '2')),
      state: promote(
        startRollout(created, {
          model: 'iris',
          candidate: 1,
          candidateBuild: '2',
          plan: PLAN,
          actor: CDK_ACTOR,
          now: T0 + 1,
        }),
        { weight: 100, actor: 'scheduler', now: T0 + 2 },
      ),
    },
    expected: { kind: 'revert-at-once', version: 1, build: '1' },
  },
  // Delete
  { name: 'delete', situation: { event: del, state: cdkRolling }, expected: { kind: 'delete' } },
  {
    name: 'delete, retried with no state',
    situation: { event: del, state: undefined },
    expected: { kind: 'delete' },
  },
];

describe('decideRelease: what a release does with each request, from the request and the state alone', () => {
  for (const row of rows) {
    it(row.name, () => {
      const decision = decideRelease(row.situation);
      const picked = Object.fromEntries(
        Object.keys(row.expected).map((key) => [key, (decision as never)[key]]),
      );
      assert.deepEqual(picked, row.expected, JSON.stringify(decision));
    });
  }

  it('a refusal names the rollout in progress and what to do; a provisioned concurrency refusal quotes Lambda', () => {
    const busy = decideRelease({ event: update(props(2, '2'), props(1, '1')), state: cliRolling });
    assert.equal(busy.kind, 'refuse');
    assert.match(
      busy.kind === 'refuse' ? busy.message : '',
      /v1 -> v3 at \d+%, started by cli\) is in progress; .*sluice status iris/,
    );
    const concurrency = decideRelease({
      event: update(props(1, '1', { ProvisionedConcurrency: '5' }), props(1, '1')),
      state: cliRolling,
    });
    assert.match(
      concurrency.kind === 'refuse' ? concurrency.message : '',
      /Alias with weights can not be used with Provisioned Concurrency/,
    );
  });

  it('never sets provisioned concurrency before an action while a rollout weights the alias', () => {
    for (const row of rows) {
      const decision = decideRelease(row.situation);
      if (
        row.situation.state?.status === 'rolling' &&
        decision.kind !== 'end-own-rollout' &&
        decision.kind !== 'create'
      ) {
        assert.equal(decision.provisionedConcurrency, ProvisionedConcurrencyStep.KEEP, row.name);
      }
    }
  });
});
