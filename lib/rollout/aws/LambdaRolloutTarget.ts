import {
  type CloudWatchClient,
  ComparisonOperator,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  PutMetricAlarmCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  ApplicationDoesNotExistException,
  type CodeDeployClient,
  DeploymentGroupDoesNotExistException,
  DeploymentStatus,
  ListDeploymentsCommand,
  type ListDeploymentsCommandOutput,
} from '@aws-sdk/client-codedeploy';
import {
  type FunctionConfiguration,
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  InvocationType,
  InvokeCommand,
  type LambdaClient,
  LastUpdateStatus,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import {
  type Invocation,
  judgeInferInvocation,
  judgeReadyInvocation,
} from '../../deploy/judge-invocation.js';
import { buildProxyEvent, goldenInferBody, inferPath, readyPath } from '../../deploy/proxy-event.js';
import { readTargetModel, type TargetModel } from '../../deploy/target-model.js';
import type { GoldenCheckResult } from '../../inference/check-golden-examples.js';
import { MAX_GOLDEN_FAILURES_REPORTED } from '../../inference/compare-golden-outputs.js';
import type { ModelRegistry } from '../../registry/ModelRegistry.js';
import { RolloutError } from '../RolloutError.js';
import type {
  HealthReport,
  ObservedTraffic,
  PreparedVersion,
  RolloutTarget,
  Routing,
} from '../RolloutTarget.js';
import { AliasBusyError } from './AliasBusyError.js';
import { healthFromAlarms } from './alarm-health.js';
import { aliasRouting } from './alias-routing.js';
import { listFunctionVersions } from './list-function-versions.js';
import { findPublishedVersion, publishedVersionDescription } from './published-version.js';
import { codeDeployNames, LIVE_ALIAS } from './stack-names.js';
import { VersionAlarmKind, versionAlarmName } from './version-alarm-name.js';
import { alarmThresholdsOf, LAMBDA_NAMESPACE, versionAlarmSpecs } from './version-alarm-specs.js';

/** Milliseconds between two reads of a function whose configuration is being updated. */
export const UPDATE_POLL_INTERVAL_MS = 2_000;

/** Reads of an updating function before giving up: an environment-only update takes seconds, so a minute is plenty. */
export const MAX_UPDATE_POLLS = 30;

/**
 * How far back `traffic()` counts the alias's invocations per version: 15 minutes, a few of CloudWatch's
 * one-minute periods more than a canary's usual bake, short enough to show the current split.
 */
export const OBSERVED_TRAFFIC_WINDOW_MS = 15 * 60_000;

/** Deployment statuses during which CodeDeploy owns the alias (Lambda deployments never bake). */
export const ACTIVE_DEPLOYMENT_STATUSES = [
  DeploymentStatus.CREATED,
  DeploymentStatus.QUEUED,
  DeploymentStatus.IN_PROGRESS,
  DeploymentStatus.READY,
] as const;

/** Properties of {@link LambdaRolloutTarget}. */
export interface LambdaRolloutTargetProps {
  /** Publishes versions, moves the alias, invokes versions for the golden examples. */
  readonly lambda: LambdaClient;
  /** Creates and reads the candidate's alarms. */
  readonly cloudwatch: CloudWatchClient;
  /** Lists the deployments of a model's deployment group. */
  readonly codedeploy: CodeDeployClient;
  /** The manifests: sha256 and golden examples of a model version. */
  readonly registry: Pick<ModelRegistry, 'getManifest'>;
  /** The predict function of a model in this stack: its name or ARN. */
  readonly functionName: (model: string) => string;
  /** The CDK stack's name: each model's CodeDeploy application and deployment group are named from it ({@link codeDeployNames}). */
  readonly stackName: string;
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
   * Clock for the golden examples' request time.
   * @default Date.now
   */
  readonly now?: () => number;
}

/**
 * The rollout target of one deployed sluice stack: model versions become published Lambda versions of the
 * model's predict function, routing is the weights of its `live` alias, health is the candidate's alarms.
 *
 * How this (manual) path and the CDK (CodeDeploy) path share the alias:
 * - `cdk deploy` of a changed model version publishes a Lambda version and CodeDeploy shifts the alias to it
 *   (the deployment group named by {@link codeDeployNames}); its alarms and pre-traffic hook gate the shift.
 * - `sluice deploy/promote/rollback` call {@link assertExclusive} first and refuse while such a deployment is
 *   created, queued, in progress or ready; then they move the alias with UpdateAlias.
 * - {@link prepare} changes the model version in `$LATEST`'s environment before publishing, which CloudFormation
 *   does not see: a later `cdk deploy` that changes the model version in the config writes the configured
 *   environment back, publishes its version and resets the alias through CodeDeploy (the rollout state sluice
 *   keeps then describes the alias as it was before that deploy). A `cdk deploy` that changes nothing of the
 *   function leaves the alias where sluice put it.
 *
 * Which Lambda version serves a model version is found by listing the function's versions (their environment,
 * or the description `sluice <model> v<version>` given at publish), so any process finds what another published.
 *
 * @example
 * const target = new LambdaRolloutTarget({
 *   lambda: new LambdaClient({}), cloudwatch: new CloudWatchClient({}), codedeploy: new CodeDeployClient({}),
 *   registry, stackName: 'Sluice', functionName: (model) => functionNames[model],
 * });
 * await target.assertExclusive('iris');
 * await target.prepare('iris', 4);
 * await target.route('iris', { stable: 3, candidate: 4, weight: 10 });
 */
export class LambdaRolloutTarget implements RolloutTarget {
  readonly #lambda: LambdaClient;
  readonly #cloudwatch: CloudWatchClient;
  readonly #codedeploy: CodeDeployClient;
  readonly #registry: Pick<ModelRegistry, 'getManifest'>;
  readonly #functionName: (model: string) => string;
  readonly #stackName: string;
  readonly #alias: string;
  readonly #maxUpdatePolls: number;
  readonly #updatePollIntervalMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;
  /** Function name -> its published versions as last listed; versions are immutable, so only new ones can be missing. */
  readonly #listings = new Map<string, FunctionConfiguration[]>();

  constructor(props: LambdaRolloutTargetProps) {
    this.#lambda = props.lambda;
    this.#cloudwatch = props.cloudwatch;
    this.#codedeploy = props.codedeploy;
    this.#registry = props.registry;
    this.#functionName = props.functionName;
    this.#stackName = props.stackName;
    this.#alias = props.alias ?? LIVE_ALIAS;
    this.#maxUpdatePolls = props.maxUpdatePolls ?? MAX_UPDATE_POLLS;
    this.#updatePollIntervalMs = props.updatePollIntervalMs ?? UPDATE_POLL_INTERVAL_MS;
    this.#sleep = props.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#now = props.now ?? Date.now;
  }

  /** Refuses with {@link AliasBusyError} while a CodeDeploy deployment of the model's deployment group may move the alias. */
  async assertExclusive(model: string): Promise<void> {
    const names = codeDeployNames(this.#stackName, model);
    let nextToken: string | undefined;
    do {
      let page: ListDeploymentsCommandOutput;
      try {
        page = await this.#codedeploy.send(
          new ListDeploymentsCommand({
            applicationName: names.applicationName,
            deploymentGroupName: names.deploymentGroupName,
            includeOnlyStatuses: [...ACTIVE_DEPLOYMENT_STATUSES],
            ...(nextToken === undefined ? {} : { nextToken }),
          }),
        );
      } catch (error) {
        if (
          error instanceof ApplicationDoesNotExistException ||
          error instanceof DeploymentGroupDoesNotExistException
        ) {
          // Without the group there is no telling whether CodeDeploy owns the alias; guessing "no" could fight it.
          throw new RolloutError(
            `cannot tell whether CodeDeploy is shifting the ${this.#alias} alias of ${model}: ${error.name} ` +
              `(application ${names.applicationName}, deployment group ${names.deploymentGroupName}); ` +
              `check the stack name (${this.#stackName}) and that the stack was deployed with this version of sluice`,
            { cause: error },
          );
        }
        throw error;
      }
      const [deploymentId] = page.deployments ?? [];
      if (deploymentId !== undefined) {
        throw new AliasBusyError(model, deploymentId, { alias: this.#alias, ...names });
      }
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
  }

  /**
   * Publishes a Lambda version serving the model version (or finds the one already published), and creates
   * its version alarms where missing. Publishing sets SLUICE_MODEL_VERSION and SLUICE_MODEL_SHA256 (from the
   * manifest) in `$LATEST`'s environment, keeping every other variable, waits for the update to finish, and
   * publishes with the description `sluice <model> v<version>`; both steps are conditional on the revision
   * read, so a concurrent change of the function fails instead of being published.
   */
  async prepare(model: string, version: number): Promise<PreparedVersion> {
    const functionName = this.#functionName(model);
    const manifest = await this.#registry.getManifest(model, version);
    let latest = await this.#settledConfiguration(functionName, false);
    const variables = latest.Environment?.Variables ?? {};
    if (variables.SLUICE_MODEL !== model) {
      throw new RolloutError(
        `${functionName} serves model ${JSON.stringify(variables.SLUICE_MODEL ?? null)}, not ${model}; check which function the CLI resolves for ${model}`,
      );
    }
    let published = findPublishedVersion(
      await this.#listVersions(functionName),
      model,
      version,
      manifest.sha256,
    );
    if (published === undefined) {
      const bound =
        variables.SLUICE_MODEL_VERSION === String(version) &&
        variables.SLUICE_MODEL_SHA256 === manifest.sha256;
      if (!bound) {
        await this.#conditional(functionName, model, version, () =>
          this.#lambda.send(
            new UpdateFunctionConfigurationCommand({
              FunctionName: functionName,
              RevisionId: latest.RevisionId,
              Environment: {
                Variables: {
                  ...variables,
                  SLUICE_MODEL_VERSION: String(version),
                  SLUICE_MODEL_SHA256: manifest.sha256,
                },
              },
            }),
          ),
        );
        latest = await this.#settledConfiguration(functionName, true);
      }
      const revision = latest.RevisionId;
      published = await this.#conditional(functionName, model, version, () =>
        this.#lambda.send(
          new PublishVersionCommand({
            FunctionName: functionName,
            Description: publishedVersionDescription(model, version),
            RevisionId: revision,
          }),
        ),
      );
    }
    this.#listings.get(functionName)?.push(published);
    await this.#ensureAlarms(model, version, published);
    return { version, build: versionOf(published) };
  }

  /** Runs a change conditional on the function's revision; a lost race becomes a message saying what to do. */
  async #conditional<T>(
    functionName: string,
    model: string,
    version: number,
    send: () => Promise<T>,
  ): Promise<T> {
    try {
      return await send();
    } catch (error) {
      // A changed revision, or an update of the function still in progress (a cdk deploy at the same time).
      const raced = ['PreconditionFailedException', 'ResourceConflictException'];
      if (!(error instanceof Error) || !raced.includes(error.name)) throw error;
      throw new RolloutError(
        `${functionName} changed while sluice was publishing ${model} v${version} for it (another sluice deploy, or a ` +
          'cdk deploy, updated the function at the same time); nothing was published or routed: retry once that has finished',
        { cause: error },
      );
    }
  }

  /**
   * Runs the manifest's golden examples against the published version (Invoke with its number as `Qualifier`),
   * each as the API Gateway event `POST /v2/models/{m}/infer`, judged as the CodeDeploy pre-traffic hook judges
   * them; a version without golden examples must answer `GET /v2/models/{m}/ready`.
   */
  async checkGolden(model: string, version: number): Promise<GoldenCheckResult> {
    const functionName = this.#functionName(model);
    const published = await this.#publishedVersion(model, version);
    const qualifier = versionOf(published);
    const manifest = await this.#registry.getManifest(model, version);
    const target: TargetModel =
      published.Environment?.Variables === undefined
        ? { model, version, sha256: undefined }
        : readTargetModel(published.Environment.Variables, `${functionName}:${qualifier}`);
    const examples = manifest.goldenExamples ?? [];
    if (target.sha256 !== undefined && target.sha256 !== manifest.sha256) {
      return {
        passed: false,
        examples: examples.length,
        failures: [
          `${functionName}:${qualifier} pins SLUICE_MODEL_SHA256 ${target.sha256}, but model "${model}" version ${version} has sha256 ${manifest.sha256}`,
        ],
      };
    }
    const invoke = (event: APIGatewayProxyEvent): Promise<Invocation> =>
      this.#lambda.send(
        new InvokeCommand({
          FunctionName: functionName,
          Qualifier: qualifier,
          InvocationType: InvocationType.RequestResponse,
          Payload: new TextEncoder().encode(JSON.stringify(event)),
        }),
      );
    const requestId = (step: string) => `sluice-golden-${model}-v${version}-${step}`;

    if (examples.length === 0) {
      const event = buildProxyEvent({
        method: 'GET',
        path: readyPath(model),
        requestId: requestId('ready'),
        requestTimeEpoch: this.#now(),
      });
      const failures = judgeReadyInvocation(await invoke(event), target);
      return { passed: failures.length === 0, examples: 0, failures };
    }
    const failures: string[] = [];
    for (const [index, example] of examples.entries()) {
      const label = `example ${index + 1}`;
      const id = requestId(`example-${index + 1}`);
      let body: string;
      try {
        body = goldenInferBody(example, manifest.inputs, id);
      } catch (error) {
        failures.push(`${label}: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      const event = buildProxyEvent({
        method: 'POST',
        path: inferPath(model),
        body,
        requestId: id,
        requestTimeEpoch: this.#now(),
      });
      failures.push(...judgeInferInvocation(await invoke(event), { label, target, example }));
    }
    return {
      passed: failures.length === 0,
      examples: examples.length,
      failures: failures.slice(0, MAX_GOLDEN_FAILURES_REPORTED),
    };
  }

  /**
   * Points the alias at the stable version's Lambda version and gives the candidate's Lambda version
   * `weight` percent; weight 0 (or no candidate) clears the routing, weight 100 makes the candidate primary.
   * A model version whose Lambda version is gone (deleted by hand, or a re-created stack) is published again
   * first, as {@link prepare} does, so no stored state can leave a model that no command can route.
   */
  async route(model: string, routing: Routing): Promise<void> {
    const functionName = this.#functionName(model);
    const stable = versionOf(await this.#routableVersion(model, routing.stable));
    const candidate =
      routing.candidate === undefined || routing.candidate === routing.stable || routing.weight <= 0
        ? undefined
        : versionOf(await this.#routableVersion(model, routing.candidate));
    await this.#lambda.send(
      new UpdateAliasCommand({
        FunctionName: functionName,
        Name: this.#alias,
        ...aliasRouting(stable, candidate, routing.weight),
      }),
    );
  }

  /** The candidate's health from its version alarms ({@link healthFromAlarms}). */
  async health(model: string, candidate: number): Promise<HealthReport> {
    const published = await this.#publishedVersion(model, candidate);
    const functionName = bareNameOf(published, this.#functionName(model));
    const names = Object.values(VersionAlarmKind).map((kind) =>
      versionAlarmName(functionName, versionOf(published), kind),
    );
    const described = await this.#cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: names }));
    return healthFromAlarms(names, described.MetricAlarms ?? []);
  }

  /**
   * Invocations of the alias per model version over the last {@link OBSERVED_TRAFFIC_WINDOW_MS}: Lambda's
   * `Invocations` with FunctionName, Resource = function:alias and ExecutedVersion, for each Lambda version the
   * alias routes to now (GetAlias), keyed by the model version that Lambda version serves. A version the alias
   * routes to without any invocation in the window counts 0.
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
    const end = this.#now();
    const metrics = await this.#cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(end - OBSERVED_TRAFFIC_WINDOW_MS),
        EndTime: new Date(end),
        MetricDataQueries: lambdaVersions.map((lambdaVersion, index) => ({
          Id: `v${index}`,
          Label: lambdaVersion,
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
            Period: OBSERVED_TRAFFIC_WINDOW_MS / 1000,
            Stat: 'Sum',
          },
        })),
      }),
    );
    const requests: Record<string, number> = {};
    for (const [index, { lambdaVersion, configuration }] of served.entries()) {
      const target = readTargetModel(
        configuration.Environment?.Variables,
        `${functionName}:${lambdaVersion}`,
      );
      const result = metrics.MetricDataResults?.find((candidate) => candidate.Id === `v${index}`);
      const count = (result?.Values ?? []).reduce((sum, value) => sum + value, 0);
      const key = String(target.version);
      requests[key] = (requests[key] ?? 0) + Math.round(count);
    }
    return { requests, windowMs: OBSERVED_TRAFFIC_WINDOW_MS };
  }

  /**
   * The model version the alias's primary Lambda version serves (its environment says which): the stable
   * version of a model whose alias only `cdk deploy` has moved so far.
   *
   * @example
   * const stable = await target.servedVersion('iris'); // 3
   */
  async servedVersion(model: string): Promise<PreparedVersion> {
    const functionName = this.#functionName(model);
    const alias = await this.#lambda.send(
      new GetAliasCommand({ FunctionName: functionName, Name: this.#alias }),
    );
    if (alias.FunctionVersion === undefined) {
      throw new RolloutError(`the ${this.#alias} alias of ${functionName} names no version`);
    }
    const configuration = await this.#versionConfiguration(functionName, alias.FunctionVersion);
    const served = readTargetModel(
      configuration.Environment?.Variables,
      `${functionName}:${alias.FunctionVersion}`,
    );
    return { version: served.version, build: alias.FunctionVersion };
  }

  /** The published Lambda version serving a model version, published now when there is none. */
  async #routableVersion(model: string, version: number): Promise<FunctionConfiguration> {
    try {
      return await this.#publishedVersion(model, version);
    } catch (error) {
      if (!(error instanceof RolloutError)) throw error;
      await this.prepare(model, version);
      return this.#publishedVersion(model, version);
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
    return (
      listed ??
      (await this.#lambda.send(
        new GetFunctionConfigurationCommand({ FunctionName: functionName, Qualifier: lambdaVersion }),
      ))
    );
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
   * Creates the version alarms that do not exist yet. Existing ones are left alone: re-creating an alarm resets
   * its state, and one of the same name made by the CDK for a version it published carries the stack's actions.
   */
  async #ensureAlarms(model: string, version: number, published: FunctionConfiguration): Promise<void> {
    const functionName = bareNameOf(published, this.#functionName(model));
    const lambdaVersion = versionOf(published);
    const specs = versionAlarmSpecs(
      { functionName, alias: this.#alias, lambdaVersion, model, modelVersion: version },
      alarmThresholdsOf(published.Environment?.Variables, `${functionName}:${lambdaVersion}`),
    );
    const described = await this.#cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNames: specs.map((spec) => spec.alarmName) }),
    );
    const existing = new Set((described.MetricAlarms ?? []).map((alarm) => alarm.AlarmName));
    for (const spec of specs) {
      if (existing.has(spec.alarmName)) continue;
      await this.#cloudwatch.send(
        new PutMetricAlarmCommand({
          AlarmName: spec.alarmName,
          AlarmDescription: spec.description,
          Namespace: spec.namespace,
          MetricName: spec.metricName,
          Dimensions: Object.entries(spec.dimensions).map(([Name, Value]) => ({ Name, Value })),
          ...(spec.statistic === 'Sum'
            ? { Statistic: 'Sum' as const }
            : { ExtendedStatistic: spec.statistic }),
          Period: spec.periodSeconds,
          EvaluationPeriods: spec.evaluationPeriods,
          Threshold: spec.threshold,
          ComparisonOperator: ComparisonOperator.GreaterThanOrEqualToThreshold,
          TreatMissingData: 'notBreaching',
        }),
      );
    }
  }
}

function versionOf(config: FunctionConfiguration): string {
  if (config.Version === undefined)
    throw new RolloutError(`Lambda returned a version of ${config.FunctionName} without a number`);
  return config.Version;
}

/** The function's name as alarms and metrics carry it (never an ARN), from Lambda's answer when it has one. */
function bareNameOf(config: FunctionConfiguration, resolved: string): string {
  return config.FunctionName ?? resolved.split(':function:').pop()?.split(':')[0] ?? resolved;
}
