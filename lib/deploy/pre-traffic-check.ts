import type { Logger } from '@aws-lambda-powertools/logger';
import {
  type CodeDeployClient,
  GetDeploymentCommand,
  PutLifecycleEventHookExecutionStatusCommand,
} from '@aws-sdk/client-codedeploy';
import {
  GetFunctionConfigurationCommand,
  InvocationType,
  InvokeCommand,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { MAX_GOLDEN_FAILURES_REPORTED } from '../inference/compare-golden-outputs.js';
import type { ModelRegistry } from '../registry/ModelRegistry.js';
import { appSpecContentOf, type LambdaAppSpecTarget, parseAppSpec } from './app-spec.js';
import { type Invocation, judgeInferInvocation, judgeReadyInvocation } from './judge-invocation.js';
import { buildProxyEvent, goldenInferBody, inferPath, readyPath } from './proxy-event.js';
import { readTargetModel, type TargetModel } from './target-model.js';

/** The statuses a lifecycle hook reports to CodeDeploy. */
export const PreTrafficStatus = {
  /** Every check passed: CodeDeploy may shift traffic. */
  SUCCEEDED: 'Succeeded',
  /** A check failed or could not run: CodeDeploy stops the deployment and the alias keeps its version. */
  FAILED: 'Failed',
} as const;

/** A status a lifecycle hook reports to CodeDeploy. */
export type PreTrafficStatus = (typeof PreTrafficStatus)[keyof typeof PreTrafficStatus];

/**
 * Time kept back from the hook function's own timeout to report the status: a hook that times out reports
 * nothing, and CodeDeploy then waits an hour before failing the deployment.
 */
export const REPORT_RESERVE_MS = 10_000;

/** The logger methods the check uses; Powertools' Logger has them. */
export type PreTrafficLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

/** Which lifecycle hook execution to run and report. */
export interface PreTrafficCheckInput {
  /** The deployment CodeDeploy runs (`DeploymentId` of the hook event). */
  readonly deploymentId: string;
  /** The execution to report the status for (`LifecycleEventHookExecutionId` of the hook event). */
  readonly hookExecutionId: string;
  /**
   * Cuts the checks short (the status is still reported, as Failed).
   * @default never
   */
  readonly abortSignal?: AbortSignal;
}

/** The clients the check talks to. */
export interface PreTrafficCheckDeps {
  /** Reads the deployment and receives the status. */
  readonly codedeploy: CodeDeployClient;
  /** Reads the target version's configuration and invokes it. */
  readonly lambda: LambdaClient;
  /** Reads the target model version's manifest with its golden examples. */
  readonly registry: Pick<ModelRegistry, 'getManifest'>;
  /** @default no logging */
  readonly logger?: PreTrafficLogger;
  /**
   * Clock for the events' request time.
   * @default Date.now
   */
  readonly now?: () => number;
}

/** What the check decided and why. */
export interface PreTrafficCheckResult {
  /** The status reported to CodeDeploy. */
  readonly status: PreTrafficStatus;
  /** Why it failed: one line per problem, naming the example, output and index; empty when it succeeded. */
  readonly reasons: string[];
}

/**
 * Runs a model version's golden examples against the Lambda version a CodeDeploy deployment is about to
 * shift the alias to, and reports the outcome to CodeDeploy (the BeforeAllowTraffic hook).
 *
 * Reads the deployment's AppSpec for the function and target version, the target version's environment
 * for the model version it serves, and that version's manifest; then invokes the target version with one
 * API Gateway event per golden example (`POST /v2/models/{m}/infer`) and compares the outputs. A version
 * without golden examples must answer `GET /v2/models/{m}/ready` with 200. The status is reported exactly
 * once, also when a step throws (then as Failed); only a failure to report it propagates.
 *
 * @example
 * const { status, reasons } = await runPreTrafficCheck(
 *   { deploymentId: event.DeploymentId, hookExecutionId: event.LifecycleEventHookExecutionId },
 *   { codedeploy: new CodeDeployClient({}), lambda: new LambdaClient({}), registry },
 * );
 */
export async function runPreTrafficCheck(
  input: PreTrafficCheckInput,
  deps: PreTrafficCheckDeps,
): Promise<PreTrafficCheckResult> {
  const { deploymentId, hookExecutionId, abortSignal } = input;
  let reasons: string[];
  try {
    reasons = await checkDeployment(input, deps);
  } catch (error) {
    const cutShort = abortSignal?.aborted === true;
    reasons = [
      `${cutShort ? 'the check ran out of time' : 'the check could not complete'}: ${describeError(error)}`,
    ];
    deps.logger?.error('pre-traffic check could not complete', { deploymentId, error: toError(error) });
  }
  const status = reasons.length === 0 ? PreTrafficStatus.SUCCEEDED : PreTrafficStatus.FAILED;
  const reported = limitReasons(reasons);
  if (status === PreTrafficStatus.SUCCEEDED)
    deps.logger?.info('pre-traffic check passed', { deploymentId, status });
  else deps.logger?.warn('pre-traffic check failed', { deploymentId, status, reasons: reported });
  // Not given the abort signal: the status must be reported also when the checks were cut short.
  await deps.codedeploy.send(
    new PutLifecycleEventHookExecutionStatusCommand({
      deploymentId,
      lifecycleEventHookExecutionId: hookExecutionId,
      status,
    }),
  );
  return { status, reasons: reported };
}

async function checkDeployment(input: PreTrafficCheckInput, deps: PreTrafficCheckDeps): Promise<string[]> {
  const { deploymentId, abortSignal } = input;
  const { codedeploy, lambda, registry, logger } = deps;
  const now = deps.now ?? Date.now;
  const options = abortSignal === undefined ? {} : { abortSignal };

  const deployment = await codedeploy.send(new GetDeploymentCommand({ deploymentId }), options);
  const spec = parseAppSpec(appSpecContentOf(deployment.deploymentInfo?.revision));
  const configuration = await lambda.send(
    new GetFunctionConfigurationCommand({ FunctionName: spec.functionName, Qualifier: spec.targetVersion }),
    options,
  );
  const target = readTargetModel(
    configuration.Environment?.Variables,
    `${spec.functionName}:${spec.targetVersion}`,
  );
  abortSignal?.throwIfAborted();
  const manifest = await registry.getManifest(target.model, target.version);
  logger?.info('pre-traffic check started', {
    deploymentId,
    function: spec.functionName,
    alias: spec.alias,
    currentVersion: spec.currentVersion,
    targetVersion: spec.targetVersion,
    model: target.model,
    version: target.version,
    goldenExamples: manifest.goldenExamples?.length ?? 0,
  });
  if (target.sha256 !== undefined && target.sha256 !== manifest.sha256) {
    // The target would refuse to serve these bytes (503); say why instead of reporting the symptom.
    return [
      `${spec.functionName}:${spec.targetVersion} pins SLUICE_MODEL_SHA256 ${target.sha256}, but model "${target.model}" version ${target.version} has sha256 ${manifest.sha256}`,
    ];
  }

  const invoke = (event: APIGatewayProxyEvent): Promise<Invocation> =>
    lambda.send(
      new InvokeCommand({
        FunctionName: spec.functionName,
        Qualifier: spec.targetVersion,
        InvocationType: InvocationType.RequestResponse,
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
      options,
    );

  const examples = manifest.goldenExamples ?? [];
  if (examples.length === 0) {
    logger?.warn('no golden examples; checking only that the target version is ready', { deploymentId });
    const event = buildProxyEvent({
      method: 'GET',
      path: readyPath(target.model),
      requestId: requestIdFor(deploymentId, 'ready'),
      requestTimeEpoch: now(),
    });
    return judgeReadyInvocation(await invoke(event), target);
  }

  const reasons: string[] = [];
  for (const [index, example] of examples.entries()) {
    const label = `example ${index + 1}`;
    const requestId = requestIdFor(deploymentId, `example-${index + 1}`);
    let body: string;
    try {
      body = goldenInferBody(example, manifest.inputs, requestId);
    } catch (error) {
      reasons.push(`${label}: ${describeError(error)}`);
      continue;
    }
    const event = buildProxyEvent({
      method: 'POST',
      path: inferPath(target.model),
      body,
      requestId,
      requestTimeEpoch: now(),
    });
    const found = judgeInferInvocation(await invoke(event), { label, target, example });
    logExample(logger, deploymentId, spec, target, label, found);
    reasons.push(...found);
  }
  return reasons;
}

/** Request ids the target logs, so a failed check can be found in its log group. */
function requestIdFor(deploymentId: string, step: string): string {
  return `pre-traffic-${deploymentId}-${step}`;
}

function logExample(
  logger: PreTrafficLogger | undefined,
  deploymentId: string,
  spec: LambdaAppSpecTarget,
  target: TargetModel,
  label: string,
  reasons: readonly string[],
): void {
  logger?.info('golden example checked', {
    deploymentId,
    targetVersion: spec.targetVersion,
    model: target.model,
    version: target.version,
    example: label,
    passed: reasons.length === 0,
  });
}

/** Keeps the report readable when a broken model fails every example. */
function limitReasons(reasons: readonly string[]): string[] {
  if (reasons.length <= MAX_GOLDEN_FAILURES_REPORTED) return [...reasons];
  const hidden = reasons.length - MAX_GOLDEN_FAILURES_REPORTED;
  return [...reasons.slice(0, MAX_GOLDEN_FAILURES_REPORTED), `(${hidden} more not shown)`];
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // SDK errors carry their AWS error code as the name (AccessDeniedException, ResourceNotFoundException).
  return error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
