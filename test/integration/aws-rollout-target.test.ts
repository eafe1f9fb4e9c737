import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { GetMetricDataCommandInput, MetricAlarm } from '@aws-sdk/client-cloudwatch';
import type { FunctionConfiguration } from '@aws-sdk/client-lambda';
import {
  LambdaRolloutTarget,
  type LambdaRolloutTargetProps,
  METRICS_SETTLE_MS,
  OBSERVED_TRAFFIC_WINDOW_MS,
} from '../../lib/aws/lambda/LambdaRolloutTarget.js';
import { findPublishedVersion, publishedVersionDescription } from '../../lib/aws/lambda/published-version.js';
import { readAlarmThresholds } from '../../lib/core/environment/predict-environment.js';
import { healthFromAlarms } from '../../lib/core/gates/alarm-health.js';
import {
  parseVersionAlarmName,
  VersionAlarmKind,
  versionAlarmName,
} from '../../lib/core/gates/version-alarm-name.js';
import { type ModelManifest, PublishExtrasSchema } from '../../lib/core/manifest/ModelManifest.js';
import { RolloutError } from '../../lib/core/rollout/RolloutError.js';
import { LocalObjectStore } from '../../lib/local/LocalObjectStore.js';
import { SAMPLE_MODELS } from '../../lib/local/sample-models.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { EmfDocuments } from '../../lib/serving/metrics/EmfDocuments.js';
import { ModelRegistry } from '../../lib/storage/ModelRegistry.js';
import { FakeAwsControlPlane } from '../fixtures/fake-aws-control-plane.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const REGION = 'eu-west-1';
const FUNCTION = 'Sluice-ModelirisFunction426CCFF9-AbCdEf123456';
const THRESHOLDS =
  '{"errorRatePercent":2,"p99LatencyMs":750,"invalidOutputs":1,"rejectedInputsPercent":40,"evaluationPeriods":3}';
/** The alarm topic the stack names in the predict function's environment. */
const TOPIC = `arn:aws:sns:${REGION}:123456789012:Sluice-Alarms`;
const INTERVAL_MS = 2_000;
const NOW = 1_700_000_000_000;
const MINUTE_MS = 60_000;

const iris = SAMPLE_MODELS.find((sample) => sample.name === 'iris');
assert.ok(iris, 'SAMPLE_MODELS lists iris');
const irisExtras = PublishExtrasSchema.parse(JSON.parse(await readFile(iris.extrasPath, 'utf8')));

/** The code of the function's current deployment package (FunctionConfiguration's CodeSha256: base64 of a SHA-256). */
const CODE_SHA = 'gJrXW1BqQMgjcWZNzAsu3KO/MGfDeeDM1WaVs55/i5c=';
/** Another deployment package: sluice's code changed. */
const NEW_CODE_SHA = 'x8dOQpv3Dd2m2X9w0Qe0ozSGy5a9+TwM5a0nN4cTq1o=';

/** The live alias as deploys and earlier steps left it: `primary`, and another version at its weight. */
function liveAlias(aws: FakeAwsControlPlane, primary: string, weights?: Record<string, number>): void {
  aws.createAlias({ Name: 'live', FunctionVersion: primary });
  if (weights) aws.updateAlias({ Name: 'live', RoutingConfig: { AdditionalVersionWeights: weights } });
}

/** The five alarms of a Lambda version as CloudWatch holds them once created, each in the state its kind gets. */
function alarmsOf(
  aws: FakeAwsControlPlane,
  lambdaVersion: string,
  stateOf: (kind: VersionAlarmKind) => Pick<MetricAlarm, 'StateValue' | 'StateReason'> = () => ({
    StateValue: 'OK',
  }),
): void {
  for (const kind of Object.values(VersionAlarmKind)) {
    const AlarmName = versionAlarmName(FUNCTION, lambdaVersion, kind);
    aws.alarms.set(AlarmName, { AlarmName, ...stateOf(kind) });
  }
}

describe('LambdaRolloutTarget: rollouts on a deployed stack through Lambda and CloudWatch', () => {
  let home: string;
  let store: LocalObjectStore;
  let registry: ModelRegistry;
  let v1: ModelManifest;
  let v2: ModelManifest;
  let v3: ModelManifest;
  /** A version with drift baselines: classes of its label, a histogram of its probabilities. */
  let v4: ModelManifest;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'sluice-aws-target-'));
    store = await LocalObjectStore.start({ directory: join(home, 's3'), port: 0 });
    registry = new ModelRegistry({ store: store.objects() });
    v1 = await publishVersion(registry, { name: 'iris', model: iris.modelPath, extras: irisExtras });
    v2 = await publishVersion(registry, { name: 'iris', model: iris.modelPath, extras: irisExtras });
    const { goldenExamples: _, ...withoutGoldens } = irisExtras;
    v3 = await publishVersion(registry, { name: 'iris', model: iris.modelPath, extras: withoutGoldens });
    v4 = await publishVersion(registry, {
      name: 'iris',
      model: iris.modelPath,
      extras: withoutGoldens,
      reference: {
        items: [
          { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [[5.1, 3.5, 1.4, 0.2]] }] },
        ],
        classes: { '0': 1 },
        outputs: { probabilities: { edges: [0.5], counts: [2, 1] } },
      },
    });
  });

  after(async () => {
    await store.stop();
    await rm(home, { recursive: true, force: true });
  });

  /** The environment CDK gives the predict function, serving `manifest`. */
  const environmentOf = (manifest: ModelManifest): Record<string, string> => ({
    SLUICE_BUCKET: 'registry-bucket',
    SLUICE_MODEL: 'iris',
    SLUICE_MODEL_VERSION: String(manifest.version),
    SLUICE_MODEL_SHA256: manifest.sha256,
    SLUICE_ALARM_THRESHOLDS: THRESHOLDS,
    SLUICE_ALARM_TOPIC_ARN: TOPIC,
    NODE_OPTIONS: '--enable-source-maps',
  });

  /** The target on a function created with `environment`, the stack's clock fixed at NOW. */
  const setUp = (overrides: Partial<LambdaRolloutTargetProps> = {}, environment = environmentOf(v1)) => {
    const aws = new FakeAwsControlPlane(FUNCTION, environment, CODE_SHA);
    // The model versions the function can load: a golden example's request gets its manifest's answer.
    for (const manifest of [v1, v2, v3, v4]) aws.manifests.set(manifest.version, manifest);
    const sleeps: number[] = [];
    const props: LambdaRolloutTargetProps = {
      lambda: aws.lambda,
      cloudwatch: aws.cloudwatch,
      logs: aws.logs,
      registry,
      functionName: (model) => (model === 'iris' ? FUNCTION : `unknown-${model}`),
      updatePollIntervalMs: INTERVAL_MS,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      now: () => NOW,
      ...overrides,
    };
    return {
      aws,
      sleeps,
      target: new LambdaRolloutTarget(props),
      another: () => new LambdaRolloutTarget(props),
    };
  };

  const alarmNamesOf = (lambdaVersion: string) =>
    Object.values(VersionAlarmKind).map((kind) => versionAlarmName(FUNCTION, lambdaVersion, kind));

  describe('prepare: a Lambda version bound to the model version, with its alarms', () => {
    it('changes only the model version and sha256 in $LATEST, waits for the update, publishes "sluice iris v2" and creates the five alarms', async () => {
      const { aws, sleeps, target } = setUp();
      aws.addVersion('5', environmentOf(v1), 'sluice iris v1 sha256:aaaaaaaaaaaa');
      aws.statusesAfterUpdate = ['InProgress', 'InProgress', 'Successful'];
      await target.prepare('iris', 2);

      assert.deepEqual(aws.sequence(), [
        'GetFunctionConfiguration',
        'ListVersionsByFunction',
        'UpdateFunctionConfiguration',
        'GetFunctionConfiguration',
        'GetFunctionConfiguration',
        'GetFunctionConfiguration',
        'PublishVersion',
        'DescribeAlarms',
        ...Array(5).fill('PutMetricAlarm'),
      ]);
      assert.deepEqual(aws.calls('GetFunctionConfiguration'), Array(4).fill({ FunctionName: FUNCTION }));
      assert.deepEqual(aws.calls('ListVersionsByFunction'), [{ FunctionName: FUNCTION }]);
      assert.deepEqual(aws.calls('UpdateFunctionConfiguration'), [
        {
          FunctionName: FUNCTION,
          RevisionId: 'rev-1',
          Environment: {
            Variables: { ...environmentOf(v1), SLUICE_MODEL_VERSION: '2', SLUICE_MODEL_SHA256: v2.sha256 },
          },
        },
      ]);
      assert.deepEqual(
        sleeps,
        [INTERVAL_MS, INTERVAL_MS],
        'waits between reads while the update is in progress',
      );
      assert.deepEqual(aws.calls('PublishVersion'), [
        { FunctionName: FUNCTION, Description: 'sluice iris v2', RevisionId: 'rev-2' },
      ]);
      assert.deepEqual(aws.calls('DescribeAlarms'), [{ AlarmNames: alarmNamesOf('6') }]);

      const lambdaDimensions = [
        { Name: 'FunctionName', Value: FUNCTION },
        { Name: 'Resource', Value: `${FUNCTION}:live` },
        { Name: 'ExecutedVersion', Value: '6' },
      ];
      const sluiceDimensions = [
        { Name: 'service', Value: 'sluice' },
        { Name: 'Model', Value: 'iris' },
        { Name: 'Version', Value: '2' },
        { Name: 'FunctionVersion', Value: '6' },
      ];
      // Shaped as PutMetricAlarm documents it
      // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html): a rate is
      // `Metrics` (MetricStat inputs, one Expression returning data) with no single-metric parameters.
      const common = {
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'missing',
        AlarmActions: [TOPIC],
      };
      const stat = (Id: string, Namespace: string, MetricName: string, Dimensions: unknown) => ({
        Id,
        MetricStat: { Metric: { Namespace, MetricName, Dimensions }, Period: 60, Stat: 'Sum' },
        ReturnData: false,
      });
      assert.deepEqual(aws.calls('PutMetricAlarm'), [
        {
          AlarmName: `sluice-${FUNCTION}-6-errors`,
          AlarmDescription:
            'sluice iris version 2: Lambda errors >= 2% of invocations in 2 of 3 minutes; rolls the version back',
          Metrics: [
            stat('errors', 'AWS/Lambda', 'Errors', lambdaDimensions),
            stat('invocations', 'AWS/Lambda', 'Invocations', lambdaDimensions),
            {
              Id: 'value',
              Expression: '100 * FILL(errors, 0) / invocations',
              Label: 'Lambda errors (% of invocations)',
              ReturnData: true,
            },
          ],
          Threshold: 2,
          ...common,
        },
        {
          AlarmName: `sluice-${FUNCTION}-6-p99`,
          AlarmDescription:
            'sluice iris version 2: p99 latency >= 750 ms in 2 of 3 minutes; rolls the version back',
          Namespace: 'Sluice',
          MetricName: 'Latency',
          Dimensions: sluiceDimensions,
          Period: 60,
          ExtendedStatistic: 'p99',
          EvaluateLowSampleCountPercentile: 'evaluate',
          Threshold: 750,
          ...common,
        },
        {
          AlarmName: `sluice-${FUNCTION}-6-model-errors`,
          AlarmDescription:
            'sluice iris version 2: 5xx answers >= 2% of requests in 2 of 3 minutes; rolls the version back',
          Metrics: [
            stat('errors', 'Sluice', 'Errors', sluiceDimensions),
            stat('requests', 'Sluice', 'Requests', sluiceDimensions),
            {
              Id: 'value',
              Expression: '100 * FILL(errors, 0) / requests',
              Label: '5xx answers (% of requests)',
              ReturnData: true,
            },
          ],
          Threshold: 2,
          ...common,
        },
        {
          AlarmName: `sluice-${FUNCTION}-6-invalid-outputs`,
          AlarmDescription:
            'sluice iris version 2: NaN/Inf outputs >= 1/min in 2 of 3 minutes; rolls the version back',
          Namespace: 'Sluice',
          MetricName: 'InvalidOutputs',
          Dimensions: sluiceDimensions,
          Period: 60,
          Statistic: 'Sum',
          Threshold: 1,
          ...common,
        },
        {
          AlarmName: `sluice-${FUNCTION}-6-rejected-inputs`,
          AlarmDescription:
            'sluice iris version 2: refused inputs >= 40% of requests in 2 of 3 minutes; rolls the version back',
          Metrics: [
            stat('rejected', 'Sluice', 'RejectedInputs', sluiceDimensions),
            stat('requests', 'Sluice', 'Requests', sluiceDimensions),
            {
              Id: 'value',
              Expression: '100 * FILL(rejected, 0) / requests',
              Label: 'refused inputs (% of requests)',
              ReturnData: true,
            },
          ],
          Threshold: 40,
          ...common,
        },
      ]);
    });

    it('gives up after a bounded number of reads while the update stays in progress, and publishes nothing', async () => {
      const { aws, sleeps, target } = setUp({ maxUpdatePolls: 3 });
      aws.statusesAfterUpdate = ['InProgress'];
      await assert.rejects(target.prepare('iris', 2), (error: unknown) => {
        assert.ok(error instanceof RolloutError);
        assert.equal(
          error.message,
          `${FUNCTION} was still updating after 3 reads 2000 ms apart; look at its LastUpdateStatus ` +
            `(aws lambda get-function-configuration --function-name ${FUNCTION}) and retry`,
        );
        return true;
      });
      assert.deepEqual(aws.sequence(), [
        'GetFunctionConfiguration',
        'ListVersionsByFunction',
        'UpdateFunctionConfiguration',
        'GetFunctionConfiguration',
        'GetFunctionConfiguration',
        'GetFunctionConfiguration',
      ]);
      assert.deepEqual(sleeps, [INTERVAL_MS, INTERVAL_MS], 'no wait after the last read');
    });

    it("stops when Lambda reports the update failed, with Lambda's reason", async () => {
      const { aws, target } = setUp();
      aws.statusesAfterUpdate = ['InProgress', 'Failed'];
      await assert.rejects(
        target.prepare('iris', 2),
        new RolloutError(
          `updating the environment of ${FUNCTION} failed: KMS key is disabled (KMSKeyAccessDenied)`,
        ),
      );
      assert.equal(aws.calls('PublishVersion').length, 0);
    });

    it("waits for an update someone else started before reading $LATEST's environment", async () => {
      const { aws, sleeps, target } = setUp({ maxUpdatePolls: 2 });
      // Another deploy's update of the environment, still in progress when sluice starts.
      aws.statusesAfterUpdate = ['InProgress'];
      aws.updateConfiguration({ Environment: { Variables: environmentOf(v1) } });
      await assert.rejects(target.prepare('iris', 2), /still updating after 2 reads/);
      assert.deepEqual(aws.sequence(), ['GetFunctionConfiguration', 'GetFunctionConfiguration']);
      assert.deepEqual(sleeps, [INTERVAL_MS]);
    });

    it('reuses the published version serving the model version (found over several pages), and leaves existing alarms alone', async () => {
      const { aws, target } = setUp();
      aws.listPageSize = 2;
      aws.addVersion('5', environmentOf(v1));
      aws.addVersion('6', environmentOf(v2), 'sluice iris v2');
      aws.addVersion(
        '7',
        { ...environmentOf(v2), SLUICE_MODEL_SHA256: 'f'.repeat(64) },
        'pinned to other bytes',
      );
      alarmsOf(aws, '6');
      await target.prepare('iris', 2);
      assert.deepEqual(aws.journal, [
        ['GetFunctionConfiguration', { FunctionName: FUNCTION }],
        ['ListVersionsByFunction', { FunctionName: FUNCTION }],
        ['ListVersionsByFunction', { FunctionName: FUNCTION, Marker: '2' }],
        ['DescribeAlarms', { AlarmNames: alarmNamesOf('6') }],
      ]);
    });

    it('publishes $LATEST as it is when it already serves the model version', async () => {
      const { aws, target } = setUp({}, environmentOf(v2));
      alarmsOf(aws, '1');
      await target.prepare('iris', 2);
      assert.deepEqual(aws.sequence(), [
        'GetFunctionConfiguration',
        'ListVersionsByFunction',
        'PublishVersion',
        'DescribeAlarms',
      ]);
      assert.deepEqual(aws.calls('PublishVersion'), [
        { FunctionName: FUNCTION, Description: 'sluice iris v2', RevisionId: 'rev-1' },
      ]);
    });

    it('refuses a function that serves another model (a wrong function name resolver)', async () => {
      const { aws, target } = setUp({}, { ...environmentOf(v1), SLUICE_MODEL: 'mnist' });
      await assert.rejects(target.prepare('iris', 2), /serves model "mnist", not iris/);
      assert.deepEqual(aws.sequence(), ['GetFunctionConfiguration']);
    });
  });

  describe('prepare: a concurrent change of the function', () => {
    it("turns Lambda's PreconditionFailedException (another deploy changed the function) into a message saying what to do, and publishes nothing", async () => {
      const { aws, target } = setUp();
      // A cdk deploy lands between sluice's update of $LATEST and its PublishVersion: new code, a new revision.
      aws.account.interleave('PublishVersion', () => aws.deployFunction(environmentOf(v1), NEW_CODE_SHA));
      await assert.rejects(
        target.prepare('iris', 2),
        (error: unknown) =>
          error instanceof RolloutError &&
          /changed while sluice was publishing iris v2 .* nothing was published or routed: retry/.test(
            error.message,
          ),
      );
      assert.deepEqual(aws.versions, []);
      assert.equal(aws.calls('UpdateAlias').length, 0);
    });
  });

  describe('route: the live alias weights', () => {
    it('points the alias at the stable version and gives the candidate its weight, finding both by listing (a new CLI process)', async () => {
      const { aws, target } = setUp();
      aws.addVersion('5', environmentOf(v1), 'sluice iris v1 sha256:aaaaaaaaaaaa');
      aws.addVersion('6', environmentOf(v2), 'sluice iris v2');
      liveAlias(aws, '5');
      await target.route('iris', { stable: 1, candidate: 2, weight: 10 });
      assert.deepEqual(aws.journal, [
        ['ListVersionsByFunction', { FunctionName: FUNCTION }],
        [
          'UpdateAlias',
          {
            FunctionName: FUNCTION,
            Name: 'live',
            FunctionVersion: '5',
            RoutingConfig: { AdditionalVersionWeights: { '6': 0.1 } },
          },
        ],
      ]);
      await target.route('iris', { stable: 1, candidate: 2, weight: 55 });
      assert.deepEqual(aws.calls('UpdateAlias').at(-1), {
        FunctionName: FUNCTION,
        Name: 'live',
        FunctionVersion: '5',
        RoutingConfig: { AdditionalVersionWeights: { '6': 0.55 } },
      });
      assert.equal(
        aws.calls('ListVersionsByFunction').length,
        1,
        'versions are immutable: one listing serves later steps',
      );
    });

    it('clears the routing (RoutingConfig {}) for weight 0 and for no candidate', async () => {
      const { aws, target } = setUp();
      aws.addVersion('5', environmentOf(v1));
      aws.addVersion('6', environmentOf(v2));
      liveAlias(aws, '5');
      await target.route('iris', { stable: 1, candidate: 2, weight: 0 });
      await target.route('iris', { stable: 1, weight: 0 });
      assert.deepEqual(aws.calls('UpdateAlias'), [
        { FunctionName: FUNCTION, Name: 'live', FunctionVersion: '5', RoutingConfig: {} },
        { FunctionName: FUNCTION, Name: 'live', FunctionVersion: '5', RoutingConfig: {} },
      ]);
    });

    it('makes the candidate the primary version at weight 100 (Lambda takes additional weights below 1 only)', async () => {
      const { aws, target } = setUp();
      aws.addVersion('5', environmentOf(v1));
      aws.addVersion('6', environmentOf(v2));
      liveAlias(aws, '5');
      await target.route('iris', { stable: 1, candidate: 2, weight: 100 });
      assert.deepEqual(aws.calls('UpdateAlias'), [
        { FunctionName: FUNCTION, Name: 'live', FunctionVersion: '6', RoutingConfig: {} },
      ]);
    });

    it('uses the version prepare() published without listing again', async () => {
      const { aws, target } = setUp();
      aws.addVersion('5', environmentOf(v1));
      liveAlias(aws, '5');
      await target.prepare('iris', 2);
      const before = aws.calls('ListVersionsByFunction').length;
      await target.route('iris', { stable: 1, candidate: 2, weight: 20 });
      assert.equal(aws.calls('ListVersionsByFunction').length, before);
      assert.deepEqual(aws.calls('UpdateAlias'), [
        {
          FunctionName: FUNCTION,
          Name: 'live',
          FunctionVersion: '5',
          RoutingConfig: { AdditionalVersionWeights: { '6': 0.2 } },
        },
      ]);
    });

    it('publishes a Lambda version for a model version that has none (deleted, or a re-created stack), then routes', async () => {
      const { aws, target } = setUp();
      aws.addVersion('5', environmentOf(v1));
      liveAlias(aws, '5');
      await target.route('iris', { stable: 1, candidate: 3, weight: 10 });
      assert.deepEqual(
        aws.calls('PublishVersion'),
        [{ FunctionName: FUNCTION, Description: 'sluice iris v3', RevisionId: 'rev-2' }],
        'published from $LATEST with v3 in its environment',
      );
      assert.equal(aws.calls('PutMetricAlarm').length, 5, 'with its version alarms');
      assert.deepEqual(aws.calls('UpdateAlias'), [
        {
          FunctionName: FUNCTION,
          Name: 'live',
          FunctionVersion: '5',
          RoutingConfig: { AdditionalVersionWeights: { '6': 0.1 } },
        },
      ]);
    });

    it('refuses to route to a model version the registry does not have, and moves nothing', async () => {
      const { aws, target } = setUp();
      aws.addVersion('5', environmentOf(v1));
      await assert.rejects(target.route('iris', { stable: 1, candidate: 9, weight: 10 }), /no version 9/);
      assert.equal(aws.calls('UpdateAlias').length, 0);
      assert.equal(aws.calls('PublishVersion').length, 0);
    });
  });

  describe("health: the candidate's alarms decide", () => {
    const withAlarms = (states: Record<string, string>) => {
      const setup = setUp();
      setup.aws.addVersion('6', environmentOf(v2), 'sluice iris v2');
      alarmsOf(setup.aws, '6', (kind) => ({
        StateValue: (states[kind] ?? 'OK') as MetricAlarm['StateValue'],
        StateReason: `reason of ${kind}`,
      }));
      return setup;
    };

    it('is unhealthy with the names of the alarms in ALARM and their reasons', async () => {
      const { aws, target } = withAlarms({
        p99: 'ALARM',
        'invalid-outputs': 'ALARM',
        errors: 'INSUFFICIENT_DATA',
      });
      assert.deepEqual(await target.health('iris', 2, { sinceMs: NOW }), {
        verdict: 'unhealthy',
        reasons: [
          `sluice-${FUNCTION}-6-p99 is ALARM: reason of p99`,
          `sluice-${FUNCTION}-6-invalid-outputs is ALARM: reason of invalid-outputs`,
        ],
        candidateRequests: 0,
        settledUntilMs: NOW - METRICS_SETTLE_MS,
      });
      assert.deepEqual(aws.journal, [
        ['ListVersionsByFunction', { FunctionName: FUNCTION }],
        ['DescribeAlarms', { AlarmNames: alarmNamesOf('6') }],
      ]);
    });

    it('is healthy when every alarm is OK', async () => {
      const { target } = withAlarms({});
      const health = await target.health('iris', 2, { sinceMs: NOW });
      assert.equal(health.verdict, 'healthy');
      assert.equal(health.reasons.length, 5);
    });

    it('is unknown while an alarm has insufficient data or does not exist', async () => {
      const { aws, target } = withAlarms({ 'model-errors': 'INSUFFICIENT_DATA' });
      assert.deepEqual(await target.health('iris', 2, { sinceMs: NOW }), {
        verdict: 'unknown',
        reasons: [`sluice-${FUNCTION}-6-model-errors is INSUFFICIENT_DATA`],
        candidateRequests: 0,
        settledUntilMs: NOW - METRICS_SETTLE_MS,
      });
      for (const name of [...aws.alarms.keys()]) if (name.endsWith('-errors')) aws.alarms.delete(name);
      const missing = await target.health('iris', 2, { sinceMs: NOW });
      assert.equal(missing.verdict, 'unknown');
      assert.match(missing.reasons.join('\n'), new RegExp(`sluice-${FUNCTION}-6-errors does not exist`));
    });
  });

  describe('health: evidence, the requests the candidate served through the alias, counted only where metrics have settled', () => {
    const TEN_MINUTES_AGO = NOW - 10 * 60_000;
    // NOW is not on a minute: the count starts at the next whole minute after sinceMs (1_699_999_440_000) and ends
    // at the last whole minute before now minus METRICS_SETTLE_MS (1_699_999_800_000).
    const FIRST_WHOLE_MINUTE = 1_699_999_440_000;
    const LAST_SETTLED_MINUTE = 1_699_999_800_000;

    /** Iris v2's canary: Lambda version 5 (v1) primary on the alias, 6 (v2) at 10%, its alarms in `state`. */
    const canary = (state: MetricAlarm['StateValue'] = 'OK') => {
      const setup = setUp();
      setup.aws.addVersion('5', environmentOf(v1));
      setup.aws.addVersion('6', environmentOf(v2), 'sluice iris v2');
      liveAlias(setup.aws, '5', { '6': 0.1 });
      alarmsOf(setup.aws, '6', () => ({ StateValue: state }));
      return setup;
    };

    it('sums Invocations of the build (FunctionName, Resource=function:live, ExecutedVersion) per minute and says up to when data is complete', async () => {
      const { aws, target } = canary();
      // The six settled minutes since the step began; a minute without requests has no datapoint.
      for (const [minute, count] of [3, 4, 5, 0, 6, 7].entries()) {
        if (count > 0) aws.recordInvocations('6', FIRST_WHOLE_MINUTE + minute * MINUTE_MS + 30_000, count);
      }
      // Requests before the step's first whole minute, and in the minutes still settling, are not counted.
      aws.recordInvocations('6', FIRST_WHOLE_MINUTE - 30_000, 40);
      aws.recordInvocations('6', LAST_SETTLED_MINUTE + 30_000, 50);
      const health = await target.health('iris', 2, { build: '6', sinceMs: TEN_MINUTES_AGO });
      assert.equal(health.verdict, 'healthy');
      assert.equal(health.candidateRequests, 25);
      assert.equal(health.settledUntilMs, NOW - METRICS_SETTLE_MS);
      assert.deepEqual(aws.calls('GetMetricData'), [
        {
          StartTime: new Date(FIRST_WHOLE_MINUTE),
          EndTime: new Date(LAST_SETTLED_MINUTE),
          MetricDataQueries: [
            {
              Id: 'candidate',
              ReturnData: true,
              MetricStat: {
                Metric: {
                  Namespace: 'AWS/Lambda',
                  MetricName: 'Invocations',
                  Dimensions: [
                    { Name: 'FunctionName', Value: FUNCTION },
                    { Name: 'Resource', Value: `${FUNCTION}:live` },
                    { Name: 'ExecutedVersion', Value: '6' },
                  ],
                },
                Period: 60,
                Stat: 'Sum',
              },
            },
          ],
        },
      ]);
      assert.deepEqual(aws.calls('GetFunctionConfiguration'), [{ FunctionName: FUNCTION, Qualifier: '6' }]);
    });

    it('counts nothing (and asks CloudWatch nothing) while no whole minute since the step began has settled', async () => {
      const { aws, target } = canary();
      aws.recordInvocations('6', NOW - 30_000, 500);
      const health = await target.health('iris', 2, { build: '6', sinceMs: NOW - 60_000 });
      assert.equal(health.candidateRequests, 0);
      assert.equal(aws.calls('GetMetricData').length, 0);
    });

    /** `count` routed requests of Lambda version `lambdaVersion` (model `version`) each `ms` long, in one settled minute. */
    const latencies = (aws: FakeAwsControlPlane, lambdaVersion: string, version: number, ms: number[]) => {
      const documents = new EmfDocuments(lambdaVersion);
      for (const [index, value] of ms.entries()) {
        const at = FIRST_WHOLE_MINUTE + 2 * MINUTE_MS + index;
        aws.ingestLog(
          documents.document('iris', version, [{ name: 'Latency', unit: 'Milliseconds' }], [value], at),
          at,
        );
      }
    };
    const repeat = (count: number, ms: number) => Array.from({ length: count }, () => ms);

    it("judges the candidate's p99 against the stable build's of the same settled minutes, as the local stack does", async () => {
      const { aws, target } = canary();
      latencies(aws, '5', 1, repeat(40, 100));
      latencies(aws, '6', 2, repeat(20, 400));
      const query = { build: '6', stable: 1, stableBuild: '5', sinceMs: TEN_MINUTES_AGO, minRequests: 20 };
      const health = await target.health('iris', 2, query);
      assert.equal(health.verdict, 'unhealthy');
      assert.deepEqual(health.reasons, [
        "p99 latency 400 ms over 20 routed requests in the 6 settled minutes is at or above 150 ms: 1.5 times the stable version's 100 ms in the same period (and at least 50 ms above it)",
      ]);
      // One period over the whole settled window, so the percentile is over every value.
      const [read] = aws.calls('GetMetricData').slice(-1) as GetMetricDataCommandInput[];
      assert.equal(read?.MetricDataQueries?.[0]?.MetricStat?.Period, 360);
      assert.deepEqual(
        read?.MetricDataQueries?.map((q) => [
          q.Id,
          q.MetricStat?.Stat,
          q.MetricStat?.Metric?.Dimensions?.at(-1),
        ]),
        [
          ['candidateN', 'SampleCount', { Name: 'FunctionVersion', Value: '6' }],
          ['candidateP99', 'p99', { Name: 'FunctionVersion', Value: '6' }],
          ['stableN', 'SampleCount', { Name: 'FunctionVersion', Value: '5' }],
          ['stableP99', 'p99', { Name: 'FunctionVersion', Value: '5' }],
        ],
      );
    });

    it('a stable build just as slow (a busy account, cold starts) keeps the candidate healthy; so does too small a baseline', async () => {
      const slowBoth = canary();
      latencies(slowBoth.aws, '5', 1, repeat(40, 380));
      latencies(slowBoth.aws, '6', 2, repeat(20, 400));
      const query = { build: '6', stable: 1, stableBuild: '5', sinceMs: TEN_MINUTES_AGO };
      assert.equal((await slowBoth.target.health('iris', 2, query)).verdict, 'healthy');
      const fewStable = canary();
      latencies(fewStable.aws, '5', 1, repeat(19, 100));
      latencies(fewStable.aws, '6', 2, repeat(20, 400));
      assert.equal((await fewStable.target.health('iris', 2, query)).verdict, 'healthy');
    });

    it('alarms still INSUFFICIENT_DATA are no evidence of health, whatever the request count', async () => {
      const { aws, target } = canary('INSUFFICIENT_DATA');
      aws.recordInvocations('6', FIRST_WHOLE_MINUTE + 30_000, 100);
      const health = await target.health('iris', 2, { build: '6', sinceMs: TEN_MINUTES_AGO });
      assert.equal(health.verdict, 'unknown');
      assert.equal(health.candidateRequests, 100);
    });
  });

  describe('builds: the Lambda version cdk deploy published, and code-only changes', () => {
    it('prepare with a build checks that it serves the model version and its sha256, creates its alarms, publishes nothing', async () => {
      const { aws, target } = setUp();
      aws.addVersion('8', environmentOf(v2), 'sluice iris v2 sha256:aaaaaaaaaaaa', NEW_CODE_SHA);
      assert.deepEqual(await target.prepare('iris', 2, { build: '8' }), { version: 2, build: '8' });
      assert.deepEqual(aws.sequence(), [
        'GetFunctionConfiguration',
        'DescribeAlarms',
        ...Array(5).fill('PutMetricAlarm'),
      ]);
      await assert.rejects(target.prepare('iris', 1, { build: '8' }), /:8 serves iris v2, not iris v1/);
      aws.addVersion('9', { ...environmentOf(v2), SLUICE_MODEL_SHA256: 'f'.repeat(64) });
      await assert.rejects(
        target.prepare('iris', 2, { build: '9' }),
        /:9 pins SLUICE_MODEL_SHA256 f{64}, but iris v2 has sha256/,
      );
    });

    it('publishes again when $LATEST carries new code: a version of the same model version with older code is not reused', async () => {
      const { aws, target } = setUp();
      aws.addVersion('6', environmentOf(v2), 'sluice iris v2');
      // cdk deploy ships new code to $LATEST.
      aws.deployFunction(environmentOf(v1), NEW_CODE_SHA);
      const { build } = await target.prepare('iris', 2);
      assert.equal(build, '7');
      assert.equal(aws.versions.find((version) => version.Version === '7')?.CodeSha256, NEW_CODE_SHA);
      assert.equal(aws.calls('PublishVersion').length, 1);
    });

    it('routes by builds when the routing names them: a code-only rollout splits one model version over two Lambda versions', async () => {
      const { aws, target } = setUp();
      aws.addVersion('6', environmentOf(v2));
      aws.addVersion('7', environmentOf(v2), undefined, NEW_CODE_SHA);
      liveAlias(aws, '6');
      await target.route('iris', {
        stable: 2,
        stableBuild: '6',
        candidate: 2,
        candidateBuild: '7',
        weight: 10,
      });
      await target.route('iris', { stable: 2, stableBuild: '7', weight: 0 });
      assert.deepEqual(aws.journal, [
        [
          'UpdateAlias',
          {
            FunctionName: FUNCTION,
            Name: 'live',
            FunctionVersion: '6',
            RoutingConfig: { AdditionalVersionWeights: { '7': 0.1 } },
          },
        ],
        ['UpdateAlias', { FunctionName: FUNCTION, Name: 'live', FunctionVersion: '7', RoutingConfig: {} }],
      ]);
    });

    it('checkGolden of a build invokes that Lambda version', async () => {
      const { aws, target } = setUp();
      aws.addVersion('6', environmentOf(v2));
      aws.addVersion('8', environmentOf(v2), undefined, NEW_CODE_SHA);
      assert.equal((await target.checkGolden('iris', 2, '8')).passed, true);
      assert.deepEqual(
        aws.calls('Invoke').map((input) => (input as { Qualifier: string }).Qualifier),
        ['8', '8', '8'],
      );
    });
  });

  describe('checkGolden: the golden examples through the candidate version, as API Gateway would send them', () => {
    it('invokes the published version (Qualifier) once per example with POST /v2/models/iris/infer and passes on matching outputs', async () => {
      const { aws, target } = setUp();
      aws.addVersion('6', environmentOf(v2), 'sluice iris v2');
      const result = await target.checkGolden('iris', 2);
      assert.deepEqual(result, { passed: true, examples: 3, failures: [] });
      // The fake journals an Invoke's Qualifier; it answers only the function FUNCTION names, and only a
      // synchronous (RequestResponse) invocation with the answers the check passed on.
      assert.deepEqual(aws.journal, [
        ['ListVersionsByFunction', { FunctionName: FUNCTION }],
        ...Array(3).fill(['Invoke', { Qualifier: '6' }]),
      ]);
    });

    it('fails naming the example and output that does not match', async () => {
      const { aws, target } = setUp();
      aws.addVersion('6', environmentOf(v2));
      aws.answer = (outputs) =>
        outputs.map((output) => (output.name === 'label' ? { ...output, data: [2] } : output));
      const result = await target.checkGolden('iris', 2);
      assert.equal(result.passed, false);
      assert.equal(result.examples, 3);
      assert.deepEqual(result.failures, [
        'example 1, output "label"[0]: expected 0, got 2',
        'example 2, output "label"[0]: expected 1, got 2',
      ]);
    });

    it('asks a version without golden examples only whether it is ready', async () => {
      const { aws, target } = setUp();
      aws.addVersion('7', environmentOf(v3));
      assert.deepEqual(await target.checkGolden('iris', 3), { passed: true, examples: 0, failures: [] });
      assert.deepEqual(aws.calls('Invoke'), [{ Qualifier: '7' }]);
    });
  });

  describe('traffic: the split the alias actually served, from Lambda metrics per executed version', () => {
    const invocationsQuery = (id: string, lambdaVersion: string) => ({
      Id: id,
      Label: lambdaVersion,
      ReturnData: true,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/Lambda',
          MetricName: 'Invocations',
          Dimensions: [
            { Name: 'FunctionName', Value: FUNCTION },
            { Name: 'Resource', Value: `${FUNCTION}:live` },
            { Name: 'ExecutedVersion', Value: lambdaVersion },
          ],
        },
        Period: 900,
        Stat: 'Sum',
      },
    });
    const driftQuery = (index: number, version: number, output: string, stat: 'Sum' | 'SampleCount') => ({
      Id: `drift${index}${stat === 'Sum' ? 's' : 'n'}`,
      ReturnData: true,
      MetricStat: {
        Metric: {
          Namespace: 'Sluice',
          MetricName: 'DriftPsi',
          Dimensions: [
            { Name: 'service', Value: 'sluice' },
            { Name: 'Model', Value: 'iris' },
            { Name: 'Version', Value: String(version) },
            { Name: 'Output', Value: output },
          ],
        },
        Period: 900,
        Stat: stat,
      },
    });

    it("sums the last 15 minutes of Invocations of each version on the weighted alias, keyed by the model version it serves, with each version's drift figure", async () => {
      const { aws, target } = setUp();
      aws.addVersion('5', environmentOf(v1));
      aws.addVersion('6', environmentOf(v4), 'sluice iris v4');
      liveAlias(aws, '5', { '6': 0.1 });
      aws.recordInvocations('5', NOW - 10 * MINUTE_MS, 700);
      aws.recordInvocations('5', NOW - 2 * MINUTE_MS, 200);
      aws.recordInvocations('6', NOW - 10 * MINUTE_MS, 95);
      aws.recordInvocations('6', NOW - 2 * MINUTE_MS, 5);
      // Before the window: not counted.
      aws.recordInvocations('5', NOW - OBSERVED_TRAFFIC_WINDOW_MS - MINUTE_MS, 1_000);
      // v4's drift figures, as the function writes them (one EMF document per window of answers).
      const documents = new EmfDocuments();
      for (const [output, psi, at] of [
        ['label', 0.3, NOW - 9 * MINUTE_MS],
        ['label', 0.5, NOW - 3 * MINUTE_MS],
        ['probabilities', 0.1, NOW - 3 * MINUTE_MS],
      ] as const) {
        aws.ingestLog(documents.driftDocument('iris', 4, output, psi, at), at);
      }
      assert.deepEqual(await target.traffic('iris'), {
        requests: { '1': 900, '4': 100 },
        windowMs: OBSERVED_TRAFFIC_WINDOW_MS,
        // v1 has no reference set, so no drift to ask about; v4's figures per output, averaged over the window
        // (Sum / SampleCount: every figure weighs the same).
        drift: { '4': { label: 0.4, probabilities: 0.1 } },
      });
      assert.deepEqual(aws.journal, [
        ['GetAlias', { FunctionName: FUNCTION, Name: 'live' }],
        ['GetFunctionConfiguration', { FunctionName: FUNCTION, Qualifier: '5' }],
        ['GetFunctionConfiguration', { FunctionName: FUNCTION, Qualifier: '6' }],
        [
          'GetMetricData',
          {
            StartTime: new Date(NOW - OBSERVED_TRAFFIC_WINDOW_MS),
            EndTime: new Date(NOW),
            MetricDataQueries: [
              invocationsQuery('v0', '5'),
              invocationsQuery('v1', '6'),
              driftQuery(0, 4, 'label', 'Sum'),
              driftQuery(0, 4, 'label', 'SampleCount'),
              driftQuery(1, 4, 'probabilities', 'Sum'),
              driftQuery(1, 4, 'probabilities', 'SampleCount'),
            ],
          },
        ],
      ]);
    });

    it('counts 0 for a version on the alias without datapoints, and reuses a listing instead of reading each version', async () => {
      const { aws, target } = setUp();
      aws.addVersion('5', environmentOf(v1));
      liveAlias(aws, '5');
      await target.route('iris', { stable: 1, weight: 0 });
      aws.journal.length = 0;
      assert.deepEqual(await target.traffic('iris'), {
        requests: { '1': 0 },
        windowMs: OBSERVED_TRAFFIC_WINDOW_MS,
        drift: {},
      });
      assert.deepEqual(aws.sequence(), ['GetAlias', 'GetMetricData']);
    });
  });

  describe('servedVersion: what the alias serves before sluice ever moved it', () => {
    it('reads the alias and the environment of its version', async () => {
      const { aws, target } = setUp();
      aws.addVersion('5', environmentOf(v1));
      liveAlias(aws, '5');
      assert.deepEqual(await target.servedVersion('iris'), { version: 1, build: '5' });
      assert.deepEqual(aws.journal, [
        ['GetAlias', { FunctionName: FUNCTION, Name: 'live' }],
        ['GetFunctionConfiguration', { FunctionName: FUNCTION, Qualifier: '5' }],
      ]);
    });
  });
});

describe('naming conventions shared by the stack, the CLI and the alarm-rollback function', () => {
  it('reads a version alarm name back: function (with dashes and digits), Lambda version, kind', () => {
    for (const kind of Object.values(VersionAlarmKind)) {
      const name = versionAlarmName('Sluice-iris-2-Fn_x', '17', kind);
      assert.deepEqual(parseVersionAlarmName(name), {
        functionName: 'Sluice-iris-2-Fn_x',
        lambdaVersion: '17',
        kind,
      });
    }
    for (const other of [
      'sluice-fn-latest-errors',
      'sluice-fn-7-latency',
      'other-fn-7-errors',
      'sluice--7-errors',
      'sluice-fn-07-p99',
    ]) {
      assert.equal(parseVersionAlarmName(other), undefined, other);
    }
  });

  it('finds the newest published version serving a model version by its environment, or by its description without one', () => {
    const env = (version: string, sha = 'a'.repeat(64)) => ({
      Variables: { SLUICE_MODEL: 'iris', SLUICE_MODEL_VERSION: version, SLUICE_MODEL_SHA256: sha },
    });
    const versions: FunctionConfiguration[] = [
      { Version: '$LATEST', Environment: env('4') },
      { Version: '3', Environment: env('4') },
      { Version: '9', Environment: env('4') },
      { Version: '10', Environment: env('4', 'b'.repeat(64)) },
      { Version: '11', Description: publishedVersionDescription('iris', 5) },
      { Version: '12', Description: 'sluice iris v5 sha256:abcdefabcdef' },
      { Version: '13', Description: 'sluice iris v50' },
    ];
    assert.equal(findPublishedVersion(versions, 'iris', 4, 'a'.repeat(64))?.Version, '9');
    assert.equal(findPublishedVersion(versions, 'iris', 4)?.Version, '10');
    assert.equal(findPublishedVersion(versions, 'iris', 5)?.Version, '12');
    assert.equal(findPublishedVersion(versions, 'mnist', 4), undefined);
  });

  it('reads alarm thresholds from the function environment, with the config defaults, and names a bad value', () => {
    assert.equal(readAlarmThresholds(undefined, 'fn:1').p99LatencyMs, 1000);
    assert.equal(
      readAlarmThresholds({ SLUICE_ALARM_THRESHOLDS: '{"p99LatencyMs":500}' }, 'fn:1').errorRatePercent,
      5,
    );
    assert.throws(
      () => readAlarmThresholds({ SLUICE_ALARM_THRESHOLDS: '{"errorRatePercent":0}' }, 'fn:1'),
      /SLUICE_ALARM_THRESHOLDS of fn:1 is invalid: errorRatePercent: .*got \{"errorRatePercent":0\}/,
    );
    // A version published by an earlier sluice carries per-minute counts: they are dropped, the rate defaults apply.
    assert.deepEqual(
      readAlarmThresholds(
        {
          SLUICE_ALARM_THRESHOLDS:
            '{"errors":1,"p99LatencyMs":800,"invalidOutputs":1,"rejectedInputs":100,"evaluationPeriods":1}',
        },
        'fn:1',
      ),
      {
        errorRatePercent: 5,
        p99LatencyMs: 800,
        invalidOutputs: 1,
        rejectedInputsPercent: 50,
        driftPsi: 0.25,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
      },
    );
    assert.throws(
      () => readAlarmThresholds({ SLUICE_ALARM_THRESHOLDS: 'high' }, 'fn:1'),
      /is not JSON; got "high"/,
    );
  });

  it('judges health: ALARM beats everything, then unknown, then OK', () => {
    assert.equal(
      healthFromAlarms(['a', 'b'], [{ AlarmName: 'a', StateValue: 'ALARM' }]).verdict,
      'unhealthy',
    );
    assert.equal(healthFromAlarms(['a', 'b'], [{ AlarmName: 'a', StateValue: 'OK' }]).verdict, 'unknown');
    assert.equal(healthFromAlarms(['a'], [{ AlarmName: 'a', StateValue: 'OK' }]).verdict, 'healthy');
  });
});
