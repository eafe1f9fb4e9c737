import {
  type CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  PutMetricAlarmCommand,
} from '@aws-sdk/client-cloudwatch';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateAliasCommand,
  type FunctionConfiguration,
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  type LambdaClient,
  LastUpdateStatus,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { inferPath, readyPath } from '../../core/contract/proxy-event.js';
import {
  readAlarmThresholds,
  readAlarmTopicArn,
  readModelIdentity,
  withModelVersion,
  withShadowCandidate,
} from '../../core/environment/predict-environment.js';
import { healthFromAlarms } from '../../core/gates/alarm-health.js';
import { VersionAlarmKind, versionAlarmName } from '../../core/gates/version-alarm-name.js';
import {
  LAMBDA_NAMESPACE,
  VERSION_ALARM_PERIOD_SECONDS,
  versionAlarmSpecs,
} from '../../core/gates/version-alarm-specs.js';
import {
  breachedGates,
  type GateFigures,
  type GateThresholds,
  P99_BASELINE_MIN_REQUESTS,
} from '../../core/gates/version-gates.js';
import { httpGoldenTransport } from '../../core/golden/http-golden-transport.js';
import { type ReplayResult, replayReference } from '../../core/golden/replay-reference.js';
import { type GoldenCheckResult, runGoldenCheck } from '../../core/golden/run-golden-check.js';
import type { ModelManifest } from '../../core/manifest/ModelManifest.js';
import {
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  MetricDimension,
  MetricName,
} from '../../core/metrics/metric-names.js';
import { RolloutError } from '../../core/rollout/RolloutError.js';
import type {
  ClassSharesAnswer,
  DifferenceFigures,
  HealthQuery,
  HealthReport,
  ObservedTraffic,
  PreparedVersion,
  PrepareOptions,
  RolloutTarget,
  Routing,
  ShadowBuildInput,
} from '../../core/rollout/RolloutTarget.js';
import { METRICS_SETTLE_MS } from '../../core/rollout/rollout-wait.js';
import { LIVE_ALIAS } from '../../core/rollout/stack-names.js';
import { classOutputOf } from '../../core/stats/answer-classes.js';
import { FLOAT_DATATYPES } from '../../core/tensor/datatypes.js';
import type { ModelRegistry } from '../../storage/ModelRegistry.js';
import { countAnsweredClasses, countDisagreedOutputs } from '../cloudwatch/log-counts.js';
import { versionAlarmInput } from '../cloudwatch/version-alarm-input.js';
import { aliasRouting } from './alias-routing.js';
import { lambdaGoldenSend } from './lambda-golden-send.js';
import { listFunctionVersions } from './list-function-versions.js';
import {
  findPublishedVersion,
  publishedVersionDescription,
  shadowBuildDescription,
} from './published-version.js';

/** The `live` alias's description: who moves it. */
export const ALIAS_DESCRIPTION =
  'sluice: moved only by the rollout engine (sluice deploy/promote/rollback, cdk deploy, the scheduler, alarms)';

/** Milliseconds between two reads of a function whose configuration is being updated. */
export const UPDATE_POLL_INTERVAL_MS = 2_000;

/** Reads of an updating function before giving up: an environment-only update takes seconds, so a minute is plenty. */
export const MAX_UPDATE_POLLS = 30;

/**
 * How far back `traffic()` counts the alias's invocations per version: 15 minutes, a few of CloudWatch's
 * one-minute periods more than a canary's usual bake, short enough to show the current split.
 */
export const OBSERVED_TRAFFIC_WINDOW_MS = 15 * 60_000;

// Defined with the other AWS timings; still importable from here.
export { METRICS_SETTLE_MS };

/** CloudWatch's metric period, in milliseconds: evidence is counted in whole minutes. */
const MINUTE_MS = VERSION_ALARM_PERIOD_SECONDS * 1_000;

/** Properties of {@link LambdaRolloutTarget}. */
export interface LambdaRolloutTargetProps {
  /** Publishes versions, moves the alias, invokes versions for the golden examples. */
  readonly lambda: LambdaClient;
  /** Creates and reads the candidate's alarms. */
  readonly cloudwatch: CloudWatchClient;
  /** Counts the answered classes of a step (Logs Insights), for the class-share test at its end. */
  readonly logs: CloudWatchLogsClient;
  /** The manifests (sha256, golden examples) and reference sets of a model version. */
  readonly registry: Pick<ModelRegistry, 'getManifest' | 'readReference'>;
  /** The predict function of a model in this stack: its name or ARN. */
  readonly functionName: (model: string) => string;
  /**
   * The alias clients invoke.
   * @default LIVE_ALIAS
   */
  readonly alias?: string;
  /**
   * Reads of an updating function before giving up.
   * @default MAX_UPDATE_POLLS
   */
  readonly maxUpdatePolls?: number;
  /**
   * Milliseconds between two reads of an updating function.
   * @default UPDATE_POLL_INTERVAL_MS
   */
  readonly updatePollIntervalMs?: number;
  /**
   * Waits between reads (tests pass one that returns at once).
   * @default a timer
   */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Clock for the golden examples' request time and the metrics' windows.
   * @default Date.now
   */
  readonly now?: () => number;
  /**
   * How long metrics take to be complete; see {@link METRICS_SETTLE_MS}.
   * @default METRICS_SETTLE_MS
   */
  readonly metricsSettleMs?: number;
}

/**
 * The rollout target of one deployed sluice stack: a model version's build is a published Lambda version of the
 * model's predict function, routing is the weights of its `live` alias, health is the candidate's version alarms
 * plus the requests it served through the alias (CloudWatch), settled up to {@link METRICS_SETTLE_MS} ago.
 *
 * sluice's engine is the only mover of the alias: CloudFormation creates it (through the rollout custom
 * resource) and never shifts it, so there is nothing to coordinate with. A build comes from one of two places:
 * - `cdk deploy` publishes one (CloudFormation's `AWS::Lambda::Version` of the function's new configuration) and
 *   the rollout custom resource passes its number as `build`: {@link prepare} verifies it serves the model version.
 * - `sluice deploy` asks {@link prepare} without a build: the model version is bound in `$LATEST`'s environment
 *   (CloudFormation does not track it) and published, unless a published version already serves exactly that code
 *   (CodeSha256) and environment.
 *
 * @example
 * const target = new LambdaRolloutTarget({
 *   lambda: new LambdaClient({}), cloudwatch: new CloudWatchClient({}), logs: new CloudWatchLogsClient({}), registry,
 *   functionName: (model) => functionNames[model],
 * });
 * const { build } = await target.prepare('iris', 4);
 * await target.route('iris', { stable: 3, candidate: 4, weight: 10, candidateBuild: build });
 */
export class LambdaRolloutTarget implements RolloutTarget {
  /** The shadow phase runs in a shadow build ({@link prepareShadow}) that the alias routes the shadow share to. */
  readonly shadows = true;
  readonly #lambda: LambdaClient;
  readonly #cloudwatch: CloudWatchClient;
  readonly #logs: CloudWatchLogsClient;
  readonly #registry: Pick<ModelRegistry, 'getManifest' | 'readReference'>;
  readonly #functionName: (model: string) => string;
  readonly #alias: string;
  readonly #maxUpdatePolls: number;
  readonly #updatePollIntervalMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;
  readonly #metricsSettleMs: number;
  /** Function name -> its published versions as last listed; versions are immutable, so only new ones can be missing. */
  readonly #listings = new Map<string, FunctionConfiguration[]>();

  constructor(props: LambdaRolloutTargetProps) {
    this.#lambda = props.lambda;
    this.#cloudwatch = props.cloudwatch;
    this.#logs = props.logs;
    this.#registry = props.registry;
    this.#functionName = props.functionName;
    this.#alias = props.alias ?? LIVE_ALIAS;
    this.#maxUpdatePolls = props.maxUpdatePolls ?? MAX_UPDATE_POLLS;
    this.#updatePollIntervalMs = props.updatePollIntervalMs ?? UPDATE_POLL_INTERVAL_MS;
    this.#sleep = props.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#now = props.now ?? Date.now;
    this.#metricsSettleMs = props.metricsSettleMs ?? METRICS_SETTLE_MS;
  }

  /**
   * Makes a model version routable and returns its build, the Lambda version number, with its version alarms
   * created where missing.
   *
   * With a `build` (the Lambda version `cdk deploy` published), checks that it serves the model version (its
   * environment names the model, the version and the manifest's sha256) and returns it. Without one, finds a
   * published version serving exactly what `$LATEST` would serve with the model version bound (same CodeSha256 and
   * environment), or publishes one: SLUICE_MODEL_VERSION and SLUICE_MODEL_SHA256 are set in `$LATEST`'s
   * environment, keeping every other variable, and the update awaited; both the update and PublishVersion are
   * conditional on the revision read, so a concurrent change of the function fails instead of being published.
   */
  async prepare(
    model: string,
    version: number,
    options: PrepareOptions = {},
  ): Promise<PreparedVersion & { readonly build: string }> {
    const functionName = this.#functionName(model);
    const manifest = await this.#registry.getManifest(model, version);
    if (options.build !== undefined) {
      const configuration = await this.#versionConfiguration(functionName, options.build);
      const label = `${functionName}:${options.build}`;
      const served = readModelIdentity(configuration.Environment?.Variables, label);
      if (served.model !== model || served.version !== version) {
        throw new RolloutError(
          `${label} serves ${served.model} v${served.version}, not ${model} v${version}`,
        );
      }
      if (served.sha256 !== undefined && served.sha256 !== manifest.sha256) {
        throw new RolloutError(
          `${label} pins SLUICE_MODEL_SHA256 ${served.sha256}, but ${model} v${version} has sha256 ${manifest.sha256}; ` +
            'fix the sha256 in sluice.config.json (`sluice show` prints it)',
        );
      }
      await this.ensureVersionAlarms(model, version, configuration);
      return { version, build: versionOf(configuration) };
    }
    const latest = await this.#settledConfiguration(functionName, false);
    const variables = latest.Environment?.Variables ?? {};
    if (variables.SLUICE_MODEL !== model) {
      throw new RolloutError(
        `${functionName} serves model ${JSON.stringify(variables.SLUICE_MODEL ?? null)}, not ${model}; check which function the CLI resolves for ${model}`,
      );
    }
    const wanted = withModelVersion(variables, version, manifest.sha256);
    const published = await this.#publishWith(functionName, latest, wanted, {
      what: `${model} v${version}`,
      description: publishedVersionDescription(model, version),
    });
    await this.ensureVersionAlarms(model, version, published);
    return { version, build: versionOf(published) };
  }

  /**
   * Makes the build a shadow phase routes its share to: a Lambda version serving the stable model version (its
   * environment and sha256, so clients get exactly its answers) that also runs the candidate on every request it
   * gets and compares the answers (SLUICE_SHADOW_VERSION, SLUICE_SHADOW_SHA256, SLUICE_SHADOW_NUMERIC_TOLERANCE).
   * Published from `$LATEST` like {@link prepare}'s builds (a version is a snapshot of the function's code and
   * configuration: https://docs.aws.amazon.com/lambda/latest/dg/configuration-versions.html), or an existing
   * version with exactly that code and environment reused; its version alarms are created, under the stable
   * model version its answers count for. Never found as the build of a model version.
   */
  async prepareShadow(model: string, input: ShadowBuildInput): Promise<string> {
    const functionName = this.#functionName(model);
    const [stableManifest, candidateManifest] = await Promise.all([
      this.#registry.getManifest(model, input.stable.version),
      this.#registry.getManifest(model, input.candidate.version),
    ]);
    const latest = await this.#settledConfiguration(functionName, false);
    const variables = latest.Environment?.Variables ?? {};
    if (variables.SLUICE_MODEL !== model) {
      throw new RolloutError(
        `${functionName} serves model ${JSON.stringify(variables.SLUICE_MODEL ?? null)}, not ${model}; check which function the CLI resolves for ${model}`,
      );
    }
    const wanted = withShadowCandidate(
      withModelVersion(variables, input.stable.version, stableManifest.sha256),
      {
        version: input.candidate.version,
        sha256: candidateManifest.sha256,
        numericTolerance: input.numericTolerance,
      },
    );
    const published = await this.#publishWith(functionName, latest, wanted, {
      what: `the shadow build of ${model} v${input.stable.version} with v${input.candidate.version}`,
      description: shadowBuildDescription(model, input.stable.version, input.candidate.version),
    });
    await this.ensureVersionAlarms(model, input.stable.version, published);
    return versionOf(published);
  }

  /**
   * The newest published version with `$LATEST`'s code and exactly `wanted` as its environment, or one published
   * now: `$LATEST`'s environment set to `wanted` (when it differs) and the update awaited, then PublishVersion.
   * Both are conditional on the revision read, so a concurrent change of the function fails instead of being
   * published.
   */
  async #publishWith(
    functionName: string,
    read: FunctionConfiguration,
    wanted: Record<string, string>,
    names: { readonly what: string; readonly description: string },
  ): Promise<FunctionConfiguration> {
    let latest = read;
    const found = newestMatching(await this.#listVersions(functionName), latest.CodeSha256, wanted);
    if (found !== undefined) return found;
    if (!sameVariables(latest.Environment?.Variables ?? {}, wanted)) {
      await this.#conditional(functionName, names.what, () =>
        this.#lambda.send(
          new UpdateFunctionConfigurationCommand({
            FunctionName: functionName,
            RevisionId: latest.RevisionId,
            Environment: { Variables: wanted },
          }),
        ),
      );
      latest = await this.#settledConfiguration(functionName, true);
    }
    const revision = latest.RevisionId;
    const published = await this.#conditional(functionName, names.what, () =>
      this.#lambda.send(
        new PublishVersionCommand({
          FunctionName: functionName,
          Description: names.description,
          RevisionId: revision,
        }),
      ),
    );
    this.#remember(functionName, published);
    return published;
  }

  /** Runs a change conditional on the function's revision; a lost race becomes a message saying what to do. */
  async #conditional<T>(functionName: string, what: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      // A changed revision, or an update of the function still in progress (a cdk deploy at the same time).
      const raced = ['PreconditionFailedException', 'ResourceConflictException'];
      if (!(error instanceof Error) || !raced.includes(error.name)) throw error;
      throw new RolloutError(
        `${functionName} changed while sluice was publishing ${what} for it (another sluice deploy, or a ` +
          'cdk deploy, updated the function at the same time); nothing was published or routed: retry once that has finished',
        { cause: error },
      );
    }
  }

  /**
   * Runs the manifest's golden examples against the build (or the model version's newest published Lambda
   * version): Invoke with the version as `Qualifier`, each example as the API Gateway event
   * `POST /v2/models/{m}/infer`, judged by the one release check (runGoldenCheck over the HTTP contract); a version
   * without golden examples must answer `GET /v2/models/{m}/ready`.
   */
  async checkGolden(model: string, version: number, build?: string): Promise<GoldenCheckResult> {
    const functionName = this.#functionName(model);
    const published =
      build === undefined
        ? await this.#publishedVersion(model, version)
        : await this.#versionConfiguration(functionName, build);
    const qualifier = versionOf(published);
    const manifest = await this.#registry.getManifest(model, version);
    const served =
      published.Environment?.Variables === undefined
        ? undefined
        : readModelIdentity(published.Environment.Variables, `${functionName}:${qualifier}`);
    if (served?.sha256 !== undefined && served.sha256 !== manifest.sha256) {
      return {
        passed: false,
        examples: manifest.goldenExamples?.length ?? 0,
        failures: [
          `${functionName}:${qualifier} pins SLUICE_MODEL_SHA256 ${served.sha256}, but model "${model}" version ${version} has sha256 ${manifest.sha256}`,
        ],
      };
    }
    return runGoldenCheck({
      manifest,
      expected: { model, version },
      idPrefix: `sluice-golden-${model}-v${version}-example`,
      transport: httpGoldenTransport({
        send: lambdaGoldenSend({ lambda: this.#lambda, functionName, qualifier, now: this.#now }),
        inferPath: inferPath(model),
        readyPath: readyPath(model),
        inputs: manifest.inputs,
        expected: { model, version },
      }),
    });
  }

  /**
   * Points the alias at the stable build and gives the candidate's build `weight` percent; weight 0 (or no
   * candidate, or a candidate build equal to the stable one) clears the routing, weight 100 makes the candidate
   * primary. Without builds, a model version's newest published Lambda version serves it; one whose Lambda version
   * is gone (deleted by hand, or a re-created stack) is published again first, as {@link prepare} does, so no
   * stored state can leave a model that no command can route.
   */
  async route(model: string, routing: Routing): Promise<void> {
    const functionName = this.#functionName(model);
    const stable = routing.stableBuild ?? versionOf(await this.#routableVersion(model, routing.stable));
    if ((routing.shadowPercent ?? 0) > 0 && routing.shadowBuild !== undefined && routing.weight <= 0) {
      // The shadow phase: an alias routes to at most two versions, the second by weight
      // (https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html): the stable build and the
      // shadow build, which answers as the stable one does.
      await this.#setAlias(
        functionName,
        aliasRouting(stable, routing.shadowBuild, routing.shadowPercent ?? 0),
      );
      return;
    }
    const candidate =
      routing.candidate === undefined || routing.weight <= 0
        ? undefined
        : (routing.candidateBuild ??
          (routing.candidate === routing.stable
            ? undefined
            : versionOf(await this.#routableVersion(model, routing.candidate))));
    await this.#setAlias(
      functionName,
      aliasRouting(stable, candidate === stable ? undefined : candidate, routing.weight),
    );
  }

  /**
   * Points the alias at a routing, creating it when the function has none yet (a model's first deploy: the release
   * routes the state it wrote, and this is where the alias comes to exist). UpdateAlias of a missing alias answers
   * ResourceNotFoundException, CreateAlias of an existing one ResourceConflictException
   * (https://docs.aws.amazon.com/lambda/latest/api/API_UpdateAlias.html,
   * https://docs.aws.amazon.com/lambda/latest/api/API_CreateAlias.html): a create that loses to another is an
   * update after all.
   */
  async #setAlias(functionName: string, routing: ReturnType<typeof aliasRouting>): Promise<void> {
    const update = () =>
      this.#lambda.send(
        new UpdateAliasCommand({ FunctionName: functionName, Name: this.#alias, ...routing }),
      );
    try {
      await update();
    } catch (error) {
      if (!(error instanceof Error) || error.name !== 'ResourceNotFoundException') throw error;
      const { FunctionVersion, RoutingConfig } = routing;
      if (FunctionVersion === undefined) throw error;
      try {
        await this.#lambda.send(
          new CreateAliasCommand({
            FunctionName: functionName,
            Name: this.#alias,
            Description: ALIAS_DESCRIPTION,
            FunctionVersion,
            ...(RoutingConfig ? { RoutingConfig } : {}),
          }),
        );
      } catch (created) {
        if (!(created instanceof Error) || created.name !== 'ResourceConflictException') throw created;
        await update();
      }
    }
  }

  /**
   * The candidate's health: its version alarms ({@link healthFromAlarms}: any ALARM is unhealthy, INSUFFICIENT_DATA
   * is no evidence), the requests it served through the alias since `sinceMs` (Lambda's `Invocations` with
   * FunctionName, Resource = function:alias and ExecutedVersion, whole minutes from `sinceMs` up to the settled
   * time), and `settledUntilMs`, now minus {@link METRICS_SETTLE_MS}.
   *
   * In the shadow phase (`query.shadowBuild`) the shadow build's alarms count too (it answers real clients), and
   * the agreement is the sum of the `ShadowCompared` and `ShadowDisagreed` the shadow build emitted under the
   * candidate's model version and its own Lambda version, over the same settled minutes.
   *
   * The class shares are not part of it: they cost a query, which the engine asks for ({@link classShares}) only
   * when a step would otherwise be taken.
   */
  async health(model: string, candidate: number, query: HealthQuery): Promise<HealthReport> {
    const { published, lambdaVersion, bareName } = await this.#candidateBuild(model, candidate, query.build);
    const alarmNames = (version: string) =>
      Object.values(VersionAlarmKind).map((kind) => versionAlarmName(bareName, version, kind));
    const names = [
      ...alarmNames(lambdaVersion),
      ...(query.shadowBuild === undefined ? [] : alarmNames(query.shadowBuild)),
    ];
    const described = await this.#cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: names }));
    const alarms = healthFromAlarms(names, described.MetricAlarms ?? []);
    const settledUntilMs = this.#now() - this.#metricsSettleMs;
    const candidateRequests = await this.#invocationsSince(
      bareName,
      lambdaVersion,
      query.sinceMs,
      settledUntilMs,
    );
    const agreement =
      query.shadowBuild === undefined
        ? undefined
        : await this.#agreementSince(model, candidate, query.shadowBuild, query.sinceMs, settledUntilMs);
    // The p99 against the stable build's in the same minutes; not in the shadow phase, whose build runs both.
    const slower =
      query.shadowBuild === undefined && query.stable !== undefined && query.stableBuild !== undefined
        ? await this.#slowerThanStable(
            { model, candidate, lambdaVersion, stable: query.stable, stableBuild: query.stableBuild },
            readAlarmThresholds(published.Environment?.Variables, `${bareName}:${lambdaVersion}`),
            { sinceMs: query.sinceMs, untilMs: settledUntilMs, minRequests: query.minRequests },
          )
        : undefined;
    const judged: HealthReport =
      slower === undefined
        ? alarms
        : {
            verdict: 'unhealthy',
            reasons: [...(alarms.verdict === 'unhealthy' ? alarms.reasons : []), slower],
          };
    return { ...judged, candidateRequests, settledUntilMs, ...(agreement ? { agreement } : {}) };
  }

  /**
   * Why the candidate's p99 latency is too slow beside the stable build's over the same whole settled minutes, or
   * undefined: the local stack's latency gate (`breachedGates`: 1.5 times the stable p99 and at least 50 ms above
   * it, `P99_LATENCY_RATIO` and `P99_LATENCY_FLOOR_MS`) on sluice's `Latency` of each build's routed requests (the dimension set
   * with FunctionVersion), one period over the whole window, as CloudWatch computes a percentile from the values
   * EMF sent (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html). Judged only
   * with {@link P99_BASELINE_MIN_REQUESTS} stable samples and the step's samples from the candidate (at most
   * {@link P99_BASELINE_MIN_REQUESTS}); the version's p99 alarm stays the absolute ceiling, which also acts
   * between the driver's ticks.
   */
  async #slowerThanStable(
    builds: {
      readonly model: string;
      readonly candidate: number;
      readonly lambdaVersion: string;
      readonly stable: number;
      readonly stableBuild: string;
    },
    thresholds: GateThresholds,
    window: { readonly sinceMs: number; readonly untilMs: number; readonly minRequests?: number | undefined },
  ): Promise<string | undefined> {
    const start = Math.ceil(window.sinceMs / MINUTE_MS) * MINUTE_MS;
    const end = Math.floor(window.untilMs / MINUTE_MS) * MINUTE_MS;
    if (end <= start) return undefined;
    const latency = (id: string, version: number, lambdaVersion: string, stat: string) => ({
      Id: id,
      ReturnData: true,
      MetricStat: {
        Metric: {
          Namespace: METRICS_NAMESPACE,
          MetricName: MetricName.LATENCY,
          Dimensions: routedDimensions(builds.model, version, lambdaVersion),
        },
        Period: (end - start) / 1000,
        Stat: stat,
      },
    });
    const metrics = await this.#cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(start),
        EndTime: new Date(end),
        MetricDataQueries: [
          latency('candidateN', builds.candidate, builds.lambdaVersion, 'SampleCount'),
          latency('candidateP99', builds.candidate, builds.lambdaVersion, 'p99'),
          latency('stableN', builds.stable, builds.stableBuild, 'SampleCount'),
          latency('stableP99', builds.stable, builds.stableBuild, 'p99'),
        ],
      }),
    );
    const first = (id: string) =>
      metrics.MetricDataResults?.find((result) => result.Id === id)?.Values?.[0] ?? 0;
    const candidate = { requests: Math.round(first('candidateN')), p99Ms: first('candidateP99') };
    const stable = { requests: Math.round(first('stableN')), p99Ms: first('stableP99') };
    const needed = Math.max(
      1,
      Math.min(P99_BASELINE_MIN_REQUESTS, window.minRequests ?? P99_BASELINE_MIN_REQUESTS),
    );
    if (stable.requests < P99_BASELINE_MIN_REQUESTS || stable.p99Ms <= 0 || candidate.requests < needed) {
      return undefined;
    }
    const figures = (side: { requests: number; p99Ms: number }): GateFigures => ({
      ...side,
      errors: 0,
      rejected: 0,
      invalidOutputs: 0,
    });
    const label = `over ${candidate.requests} routed requests in the ${(end - start) / MINUTE_MS} settled minutes`;
    return breachedGates(figures(candidate), thresholds, label, figures(stable)).find(
      (breach) => breach.gate === VersionAlarmKind.P99,
    )?.reason;
  }

  /** The candidate's published Lambda version (its build when the state names one), and the names it goes by. */
  async #candidateBuild(model: string, candidate: number, build: string | undefined) {
    const functionName = this.#functionName(model);
    const published =
      build === undefined
        ? await this.#publishedVersion(model, candidate)
        : await this.#versionConfiguration(functionName, build);
    return { published, lambdaVersion: versionOf(published), bareName: bareNameOf(published, functionName) };
  }

  /**
   * The requests per answered class of the stable build and the candidate's from `query.sinceMs` to
   * `query.untilMs`, from a Logs Insights query of the function's log group (`countAnsweredClasses`): asked by the
   * engine only when a step would otherwise be taken, once per step. A query that does not complete gives its
   * reason instead, and the step waits.
   */
  async classShares(
    model: string,
    candidate: number,
    query: HealthQuery & { readonly untilMs: number },
  ): Promise<ClassSharesAnswer> {
    const { published, lambdaVersion, bareName } = await this.#candidateBuild(model, candidate, query.build);
    if (query.stable === undefined) return { unavailable: 'no stable version to compare with' };
    const stableBuild = query.stableBuild ?? versionOf(await this.#publishedVersion(model, query.stable));
    const counted = await countAnsweredClasses(
      this.#logs,
      {
        logGroup: logGroupOf(published, bareName),
        model,
        builds: [stableBuild, lambdaVersion],
        startMs: query.sinceMs,
        endMs: query.untilMs,
      },
      this.#sleep,
    );
    if (!counted.ok) return { unavailable: counted.reason };
    return {
      classShares: {
        stable: counted.counts[stableBuild] ?? {},
        candidate: counted.counts[lambdaVersion] ?? {},
      },
    };
  }

  /**
   * The compared requests on which each output of the candidate disagreed in the shadow phase, from the shadow
   * build's `DisagreedOutput` log lines (a Logs Insights query, `countDisagreedOutputs`) over the same settled
   * minutes as the agreement; undefined outside a shadow phase or when the query does not complete.
   */
  async disagreedOutputs(
    model: string,
    candidate: number,
    query: HealthQuery & { readonly untilMs: number },
  ): Promise<Readonly<Record<string, number>> | undefined> {
    if (query.shadowBuild === undefined) return undefined;
    const functionName = this.#functionName(model);
    const shadow = await this.#versionConfiguration(functionName, query.shadowBuild);
    const counted = await countDisagreedOutputs(
      this.#logs,
      {
        logGroup: logGroupOf(shadow, bareNameOf(shadow, functionName)),
        model,
        candidate,
        shadowBuild: query.shadowBuild,
        // The whole settled minutes the agreement metrics were summed over (`#agreementSince`), end exclusive.
        startMs: Math.ceil(query.sinceMs / MINUTE_MS) * MINUTE_MS,
        endMs: Math.floor(query.untilMs / MINUTE_MS) * MINUTE_MS - 1,
      },
      this.#sleep,
    );
    return counted.ok ? counted.counts : undefined;
  }

  /**
   * The shadow build's comparisons of the candidate in the whole minutes from `sinceMs` to `untilMs`: sums of
   * sluice's `ShadowCompared` (requests) and `ShadowDisagreed` (their shares of disagreeing rows) with the
   * dimensions service, Model, Version = the candidate, FunctionVersion = the shadow build (the set its EMF
   * documents carry); and, per float output of the candidate, the SampleCount, p50 and p99 of its
   * `ShadowDifference` (the same dimensions and Output) over the whole span.
   */
  async #agreementSince(
    model: string,
    candidate: number,
    shadowBuild: string,
    sinceMs: number,
    untilMs: number,
  ): Promise<NonNullable<HealthReport['agreement']>> {
    const start = Math.ceil(sinceMs / MINUTE_MS) * MINUTE_MS;
    const end = Math.floor(untilMs / MINUTE_MS) * MINUTE_MS;
    if (end <= start) return { compared: 0, disagreed: 0 };
    const dimensions = routedDimensions(model, candidate, shadowBuild);
    const query = (id: string, metricName: string) => ({
      Id: id,
      ReturnData: true,
      MetricStat: {
        Metric: { Namespace: METRICS_NAMESPACE, MetricName: metricName, Dimensions: dimensions },
        Period: VERSION_ALARM_PERIOD_SECONDS,
        Stat: 'Sum' as const,
      },
    });
    // Per float output, the relative differences' distribution over the whole phase: one period from start to end
    // (percentiles of separate periods cannot be merged; CloudWatch computes them from the raw values EMF sends,
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html).
    const floatOutputs = (await this.#registry.getManifest(model, candidate)).outputs
      .filter((spec) => FLOAT_DATATYPES.has(spec.datatype))
      .map((spec) => spec.name);
    const difference = (id: string, output: string, stat: string) => ({
      Id: id,
      ReturnData: true,
      MetricStat: {
        Metric: {
          Namespace: METRICS_NAMESPACE,
          MetricName: MetricName.SHADOW_DIFFERENCE,
          Dimensions: [...dimensions, { Name: MetricDimension.OUTPUT, Value: output }],
        },
        Period: (end - start) / 1000,
        Stat: stat,
      },
    });
    const metrics = await this.#cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(start),
        EndTime: new Date(end),
        MetricDataQueries: [
          query('compared', MetricName.SHADOW_COMPARED),
          query('disagreed', MetricName.SHADOW_DISAGREED),
          ...floatOutputs.flatMap((output, index) => [
            difference(`n${index}`, output, 'SampleCount'),
            difference(`p50x${index}`, output, 'p50'),
            difference(`p99x${index}`, output, 'p99'),
          ]),
        ],
      }),
    );
    const values = (id: string) =>
      metrics.MetricDataResults?.find((result) => result.Id === id)?.Values ?? [];
    const sum = (id: string) => values(id).reduce((total, value) => total + value, 0);
    const differences: Record<string, DifferenceFigures> = {};
    for (const [index, output] of floatOutputs.entries()) {
      const compared = Math.round(sum(`n${index}`));
      const [p50] = values(`p50x${index}`);
      const [p99] = values(`p99x${index}`);
      if (compared > 0 && p50 !== undefined && p99 !== undefined)
        differences[output] = { compared, p50, p99 };
    }
    return {
      compared: Math.round(sum('compared')),
      disagreed: sum('disagreed'),
      ...(Object.keys(differences).length > 0 ? { differences } : {}),
    };
  }

  /**
   * Replays the reference sets of both versions through their builds, as the golden examples run: each item an
   * Invoke of the build with the API Gateway event `POST /v2/models/{m}/infer`, two per item; undefined when
   * neither version has a set. Runs before any traffic, from the deploy (the CLI, or the release custom resource).
   */
  async replay(
    model: string,
    candidate: PreparedVersion,
    stable: PreparedVersion,
    numericTolerance: number,
  ): Promise<ReplayResult | undefined> {
    const [own, stables] = await Promise.all([
      this.#registry.readReference(model, candidate.version),
      this.#registry.readReference(model, stable.version),
    ]);
    if (!own && !stables) return undefined;
    const functionName = this.#functionName(model);
    const transport = async (prepared: PreparedVersion) => {
      const qualifier = prepared.build ?? versionOf(await this.#publishedVersion(model, prepared.version));
      const manifest = await this.#registry.getManifest(model, prepared.version);
      return {
        manifest,
        transport: httpGoldenTransport({
          send: lambdaGoldenSend({ lambda: this.#lambda, functionName, qualifier, now: this.#now }),
          inferPath: inferPath(model),
          readyPath: readyPath(model),
          inputs: manifest.inputs,
          expected: { model, version: prepared.version },
        }),
      };
    };
    const [candidateSide, stableSide] = await Promise.all([transport(candidate), transport(stable)]);
    return replayReference({
      items: [...(own ?? []), ...(stables ?? [])],
      candidate: candidateSide.transport,
      stable: stableSide.transport,
      outputs: stableSide.manifest.outputs,
      ...(stableSide.manifest.labels ? { labels: stableSide.manifest.labels } : {}),
      numericTolerance,
    });
  }

  /**
   * Invocations of one Lambda version through the alias in the whole minutes from `sinceMs` (rounded up: a request
   * before the step began is never counted) to `untilMs` (rounded down: a minute still filling is never counted).
   */
  async #invocationsSince(
    bareName: string,
    lambdaVersion: string,
    sinceMs: number,
    untilMs: number,
  ): Promise<number> {
    const start = Math.ceil(sinceMs / MINUTE_MS) * MINUTE_MS;
    const end = Math.floor(untilMs / MINUTE_MS) * MINUTE_MS;
    if (end <= start) return 0;
    const metrics = await this.#cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(start),
        EndTime: new Date(end),
        MetricDataQueries: [
          {
            Id: 'candidate',
            ...this.#invocationsQuery(bareName, lambdaVersion, VERSION_ALARM_PERIOD_SECONDS),
          },
        ],
      }),
    );
    const values = metrics.MetricDataResults?.find((result) => result.Id === 'candidate')?.Values ?? [];
    return Math.round(values.reduce((sum, value) => sum + value, 0));
  }

  /** A GetMetricData query of a Lambda version's `Invocations` through the alias, summed per period. */
  #invocationsQuery(bareName: string, lambdaVersion: string, periodSeconds: number) {
    return {
      ReturnData: true,
      MetricStat: {
        Metric: {
          Namespace: LAMBDA_NAMESPACE,
          MetricName: 'Invocations',
          Dimensions: [
            { Name: 'FunctionName', Value: bareName },
            { Name: 'Resource', Value: `${bareName}:${this.#alias}` },
            { Name: 'ExecutedVersion', Value: lambdaVersion },
          ],
        },
        Period: periodSeconds,
        Stat: 'Sum' as const,
      },
    };
  }

  /**
   * Invocations of the alias per model version over the last {@link OBSERVED_TRAFFIC_WINDOW_MS}: Lambda's
   * `Invocations` with FunctionName, Resource = function:alias and ExecutedVersion, for each Lambda version the
   * alias routes to now (GetAlias), keyed by the model version that Lambda version serves. A version the alias
   * routes to without any invocation in the window counts 0. With them, each routed model version's drift figure
   * (sluice's `DriftPsi`, averaged over the window) where it has one.
   */
  async traffic(model: string): Promise<ObservedTraffic> {
    const functionName = this.#functionName(model);
    const alias = await this.#lambda.send(
      new GetAliasCommand({ FunctionName: functionName, Name: this.#alias }),
    );
    const lambdaVersions = [
      ...new Set([
        ...(alias.FunctionVersion === undefined ? [] : [alias.FunctionVersion]),
        ...Object.keys(alias.RoutingConfig?.AdditionalVersionWeights ?? {}),
      ]),
    ];
    if (lambdaVersions.length === 0) return { requests: {}, windowMs: OBSERVED_TRAFFIC_WINDOW_MS };
    const served = await Promise.all(
      lambdaVersions.map(async (lambdaVersion) => ({
        lambdaVersion,
        configuration: await this.#versionConfiguration(functionName, lambdaVersion),
      })),
    );
    const bareName = bareNameOf(served[0]?.configuration ?? {}, functionName);
    const modelVersions = served.map(({ lambdaVersion, configuration }) =>
      readModelIdentity(configuration.Environment?.Variables, `${functionName}:${lambdaVersion}`),
    );
    const distinctVersions = [...new Set(modelVersions.map((identity) => identity.version))];
    // The outputs with a drift baseline, from each version's manifest: its class output and numeric outputs.
    const drifting = (
      await Promise.all(
        distinctVersions.map(async (version) =>
          driftOutputsOf(await this.#registry.getManifest(model, version)).map((output) => ({
            version,
            output,
          })),
        ),
      )
    ).flat();
    const end = this.#now();
    const metrics = await this.#cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(end - OBSERVED_TRAFFIC_WINDOW_MS),
        EndTime: new Date(end),
        MetricDataQueries: [
          ...lambdaVersions.map((lambdaVersion, index) => ({
            Id: `v${index}`,
            Label: lambdaVersion,
            ...this.#invocationsQuery(bareName, lambdaVersion, OBSERVED_TRAFFIC_WINDOW_MS / 1000),
          })),
          // Each output's drift figures under `service, Model, Version, Output`, averaged over the window: one
          // figure per full window of 500 answers.
          // Sum and SampleCount rather than Average: the window need not fall on one period, and the average of two
          // periods' averages would weigh a partial period like a full one.
          ...drifting.flatMap(({ version, output }, index) =>
            (['Sum', 'SampleCount'] as const).map((stat) => ({
              Id: `drift${index}${stat === 'Sum' ? 's' : 'n'}`,
              ReturnData: true,
              MetricStat: {
                Metric: {
                  Namespace: METRICS_NAMESPACE,
                  MetricName: MetricName.DRIFT_PSI,
                  Dimensions: [
                    { Name: 'service', Value: METRICS_SERVICE },
                    { Name: MetricDimension.MODEL, Value: model },
                    { Name: MetricDimension.VERSION, Value: String(version) },
                    { Name: MetricDimension.OUTPUT, Value: output },
                  ],
                },
                Period: OBSERVED_TRAFFIC_WINDOW_MS / 1000,
                Stat: stat,
              },
            })),
          ),
        ],
      }),
    );
    const requests: Record<string, number> = {};
    for (const [index, target] of modelVersions.entries()) {
      const result = metrics.MetricDataResults?.find((candidate) => candidate.Id === `v${index}`);
      const count = (result?.Values ?? []).reduce((sum, value) => sum + value, 0);
      const key = String(target.version);
      requests[key] = (requests[key] ?? 0) + Math.round(count);
    }
    const drift: Record<string, Record<string, number>> = {};
    const total = (id: string) =>
      (metrics.MetricDataResults?.find((result) => result.Id === id)?.Values ?? []).reduce(
        (sum, value) => sum + value,
        0,
      );
    for (const [index, { version, output }] of drifting.entries()) {
      const figures = total(`drift${index}n`);
      if (figures === 0) continue;
      const ofVersion = drift[String(version)] ?? {};
      ofVersion[output] = total(`drift${index}s`) / figures;
      drift[String(version)] = ofVersion;
    }
    return { requests, windowMs: OBSERVED_TRAFFIC_WINDOW_MS, drift };
  }

  /**
   * The model version the alias's primary Lambda version serves (its environment says which) and that Lambda
   * version as its build: the stable version of a model whose alias only `cdk deploy` has set so far.
   *
   * @example
   * const { version, build } = await target.servedVersion('iris'); // { version: 3, build: '7' }
   */
  async servedVersion(model: string): Promise<{ version: number; build: string }> {
    const functionName = this.#functionName(model);
    const alias = await this.#lambda.send(
      new GetAliasCommand({ FunctionName: functionName, Name: this.#alias }),
    );
    if (alias.FunctionVersion === undefined) {
      throw new RolloutError(`the ${this.#alias} alias of ${functionName} names no version`);
    }
    const configuration = await this.#versionConfiguration(functionName, alias.FunctionVersion);
    const { version } = readModelIdentity(
      configuration.Environment?.Variables,
      `${functionName}:${alias.FunctionVersion}`,
    );
    return { version, build: alias.FunctionVersion };
  }

  /** The published Lambda version serving a model version, published now when there is none. */
  async #routableVersion(model: string, version: number): Promise<FunctionConfiguration> {
    try {
      return await this.#publishedVersion(model, version);
    } catch (error) {
      if (!(error instanceof RolloutError)) throw error;
      const { build } = await this.prepare(model, version);
      return this.#versionConfiguration(this.#functionName(model), build);
    }
  }

  /**
   * The published Lambda version serving a model version, found in the function's versions as last listed, or
   * listed again when they have none (another process may have published it since).
   */
  async #publishedVersion(model: string, version: number): Promise<FunctionConfiguration> {
    const functionName = this.#functionName(model);
    const listed = this.#listings.get(functionName);
    const found =
      (listed === undefined ? undefined : findPublishedVersion(listed, model, version)) ??
      findPublishedVersion(await this.#listVersions(functionName), model, version);
    if (found === undefined) {
      throw new RolloutError(
        `${model} version ${version} has no published Lambda version of ${functionName}; \`sluice deploy ${model} --version ${version}\` publishes one`,
      );
    }
    return found;
  }

  /** A published Lambda version's configuration, from the last listing or, when it is newer, read directly. */
  async #versionConfiguration(functionName: string, lambdaVersion: string): Promise<FunctionConfiguration> {
    const listed = this.#listings.get(functionName)?.find((config) => config.Version === lambdaVersion);
    if (listed !== undefined) return listed;
    const read = await this.#lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: functionName, Qualifier: lambdaVersion }),
    );
    this.#remember(functionName, read);
    return read;
  }

  /** Adds a version to the cached listing (versions are immutable; only new ones can be missing). */
  #remember(functionName: string, configuration: FunctionConfiguration): void {
    const listed = this.#listings.get(functionName);
    if (listed !== undefined && !listed.some((config) => config.Version === configuration.Version)) {
      listed.push(configuration);
    }
  }

  async #listVersions(functionName: string): Promise<FunctionConfiguration[]> {
    const versions = await listFunctionVersions(this.#lambda, functionName);
    this.#listings.set(functionName, versions);
    return versions;
  }

  /**
   * `$LATEST`'s configuration once no update is running, read at most `maxUpdatePolls` times. After sluice's own
   * update a Failed status throws; before it, an earlier failed update is no reason to refuse (the function
   * kept its previous configuration).
   */
  async #settledConfiguration(functionName: string, afterOwnUpdate: boolean): Promise<FunctionConfiguration> {
    for (let poll = 1; ; poll++) {
      const config = await this.#lambda.send(
        new GetFunctionConfigurationCommand({ FunctionName: functionName }),
      );
      if (afterOwnUpdate && config.LastUpdateStatus === LastUpdateStatus.Failed) {
        throw new RolloutError(
          `updating the environment of ${functionName} failed: ${config.LastUpdateStatusReason ?? 'Lambda gave no reason'}` +
            (config.LastUpdateStatusReasonCode ? ` (${config.LastUpdateStatusReasonCode})` : ''),
        );
      }
      if (config.LastUpdateStatus !== LastUpdateStatus.InProgress) return config;
      if (poll >= this.#maxUpdatePolls) {
        throw new RolloutError(
          `${functionName} was still updating after ${poll} reads ${this.#updatePollIntervalMs} ms apart; ` +
            `look at its LastUpdateStatus (aws lambda get-function-configuration --function-name ${functionName}) and retry`,
        );
      }
      await this.#sleep(this.#updatePollIntervalMs);
    }
  }

  /**
   * Creates the version alarms of a published Lambda version that do not exist yet, with the thresholds and the
   * alarm topic its environment names. Existing ones are left alone: re-creating an alarm resets its state.
   * Every version's alarms are made here, also for the versions `cdk deploy` publishes, so one owner creates
   * and deletes them (see pruneFunctionVersions).
   */
  async ensureVersionAlarms(model: string, version: number, published: FunctionConfiguration): Promise<void> {
    const functionName = bareNameOf(published, this.#functionName(model));
    const lambdaVersion = versionOf(published);
    const variables = published.Environment?.Variables;
    const specs = versionAlarmSpecs(
      { functionName, alias: this.#alias, lambdaVersion, model, modelVersion: version },
      readAlarmThresholds(variables, `${functionName}:${lambdaVersion}`),
    );
    const topic = readAlarmTopicArn(variables);
    const described = await this.#cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNames: specs.map((spec) => spec.alarmName) }),
    );
    const existing = new Set((described.MetricAlarms ?? []).map((alarm) => alarm.AlarmName));
    for (const spec of specs) {
      if (existing.has(spec.alarmName)) continue;
      await this.#cloudwatch.send(
        new PutMetricAlarmCommand(versionAlarmInput(spec, topic === undefined ? [] : [topic])),
      );
    }
  }
}

/**
 * The dimensions of sluice's metrics of one model version as one Lambda version emitted them (the EMF set with
 * FunctionVersion, which only routed requests carry).
 */
function routedDimensions(model: string, version: number, lambdaVersion: string) {
  return [
    { Name: 'service', Value: METRICS_SERVICE },
    { Name: MetricDimension.MODEL, Value: model },
    { Name: MetricDimension.VERSION, Value: String(version) },
    { Name: MetricDimension.FUNCTION_VERSION, Value: lambdaVersion },
  ];
}

function versionOf(config: FunctionConfiguration): string {
  if (config.Version === undefined)
    throw new RolloutError(`Lambda returned a version of ${config.FunctionName} without a number`);
  return config.Version;
}

/** The outputs of a version with a drift baseline: its class output (when its reference set has classes) and its numeric outputs with a histogram. */
function driftOutputsOf(manifest: ModelManifest): string[] {
  const classOutput = manifest.reference?.classes ? classOutputOf(manifest.outputs)?.name : undefined;
  return [...(classOutput ? [classOutput] : []), ...Object.keys(manifest.reference?.outputs ?? {})];
}

/**
 * The log group a function version writes to: its LoggingConfig.LogGroup, or Lambda's default
 * `/aws/lambda/<function name>` (https://docs.aws.amazon.com/lambda/latest/api/API_LoggingConfig.html).
 */
function logGroupOf(config: FunctionConfiguration, bareName: string): string {
  return config.LoggingConfig?.LogGroup ?? `/aws/lambda/${bareName}`;
}

/** The function's name as alarms and metrics carry it (never an ARN), from Lambda's answer when it has one. */
function bareNameOf(config: FunctionConfiguration, resolved: string): string {
  return config.FunctionName ?? resolved.split(':function:').pop()?.split(':')[0] ?? resolved;
}

/** The newest published version serving exactly this code and environment, if any. */
function newestMatching(
  versions: readonly FunctionConfiguration[],
  codeSha256: string | undefined,
  variables: Readonly<Record<string, string>>,
): FunctionConfiguration | undefined {
  let newest: FunctionConfiguration | undefined;
  for (const config of versions) {
    if (config.Version === undefined || config.Version === '$LATEST') continue;
    if (config.CodeSha256 !== codeSha256 || !sameVariables(config.Environment?.Variables ?? {}, variables))
      continue;
    if (newest === undefined || Number(config.Version) > Number(newest.Version)) newest = config;
  }
  return newest;
}

function sameVariables(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}
