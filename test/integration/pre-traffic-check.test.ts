import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  CodeDeployClient,
  DeploymentDoesNotExistException,
  GetDeploymentCommand,
  type GetDeploymentCommandOutput,
  PutLifecycleEventHookExecutionStatusCommand,
} from '@aws-sdk/client-codedeploy';
import {
  GetFunctionConfigurationCommand,
  type GetFunctionConfigurationCommandInput,
  InvokeCommand,
  type InvokeCommandInput,
  LambdaClient,
} from '@aws-sdk/client-lambda';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { build } from 'esbuild';
import * as ort from 'onnxruntime-node';
import { ConfigError, readFunctionConfig } from '../../lib/config/function-config.js';
import {
  appSpecContentOf,
  buildProxyEvent,
  goldenInferBody,
  InvalidAppSpecError,
  InvalidTargetError,
  type Invocation,
  judgeInferInvocation,
  judgeReadyInvocation,
  LifecycleHookEventSchema,
  PRE_TRAFFIC_STAGE,
  PreTrafficStatus,
  parseAppSpec,
  readHookConfig,
  readTargetModel,
  runPreTrafficCheck,
  type TargetModel,
} from '../../lib/deploy/index.js';
import { parseSimpleYaml, SimpleYamlError } from '../../lib/deploy/private/parse-simple-yaml.js';
import { checkGoldenExamples } from '../../lib/inference/check-golden-examples.js';
import { compareGoldenOutputs } from '../../lib/inference/compare-golden-outputs.js';
import { LocalObjectStore } from '../../lib/local/LocalObjectStore.js';
import { NO_METRICS } from '../../lib/observability/ServingMetrics.js';
import {
  type GoldenExample,
  GoldenExampleSchema,
  type ModelManifest,
  type PublishExtras,
  PublishExtrasSchema,
} from '../../lib/registry/ModelManifest.js';
import { ModelRegistry } from '../../lib/registry/ModelRegistry.js';
import { SAMPLE_MODELS } from '../../lib/samples/index.js';
import { createPredictHandler, type PredictHandler } from '../../lib/serving/create-predict-handler.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const REGION = 'us-east-1';
const FUNCTION_NAME = 'sluice-iris-predict';
const ALIAS = 'live';
const HOOK_EXECUTION_ID = 'hook-execution-1';
const NOW = 1_700_000_000_000;
const SHA_OF_NOTHING = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const iris = SAMPLE_MODELS.find((sample) => sample.name === 'iris');
assert.ok(iris, 'SAMPLE_MODELS lists iris');
const irisExtras = PublishExtrasSchema.parse(JSON.parse(await readFile(iris.extrasPath, 'utf8')));
const irisGoldens: GoldenExample[] = irisExtras.goldenExamples ?? [];
assert.equal(irisGoldens.length, 3, 'the iris sample has three golden examples');

const silentLogger = new Logger({ serviceName: 'sluice-test', logLevel: 'SILENT' });
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A JSON AppSpec as CloudFormation writes it for an alias shift. */
function jsonAppSpec(targetVersion: string, currentVersion = '1'): string {
  return JSON.stringify({
    version: 0.0,
    Resources: [
      {
        IrisPredict: {
          Type: 'AWS::Lambda::Function',
          Properties: {
            Name: FUNCTION_NAME,
            Alias: ALIAS,
            CurrentVersion: currentVersion,
            TargetVersion: targetVersion,
          },
        },
      },
    ],
  });
}

/** The same AppSpec in the block YAML of the CodeDeploy documentation, with comments and hooks. */
function yamlAppSpec(targetVersion: string): string {
  return [
    'version: 0.0',
    '# written by hand, as in the CodeDeploy user guide',
    'Resources:',
    '  - IrisPredict:',
    '      Type: AWS::Lambda::Function',
    '      Properties:',
    `        Name: "${FUNCTION_NAME}"`,
    `        Alias: '${ALIAS}'`,
    '        CurrentVersion: 1',
    `        TargetVersion: ${targetVersion}  # the version to check`,
    'Hooks:',
    '  - BeforeAllowTraffic: "sluice-iris-pre-traffic"',
    '',
  ].join('\n');
}

/** A golden example's outputs changed so the model cannot match them. */
function withWrongExpectations(extras: PublishExtras): PublishExtras {
  const wrong = structuredClone(extras);
  const [, second, third] = wrong.goldenExamples ?? [];
  assert.ok(second?.outputs[0] && third?.outputs[1]);
  second.outputs[0].data = [2];
  third.outputs[1].data = [0.0000000330172, 0.5, 0.9996281862258911];
  return wrong;
}

/**
 * The Lambda service, for the versions of one predict function: each version has its own environment,
 * runs the REAL predict handler (created at its first invoke, as in the init phase) against the real
 * embedded store, and reports a thrown error as Lambda does (FunctionError "Unhandled").
 */
class FakeLambdaFunction {
  readonly environments = new Map<string, Record<string, string>>();
  readonly #warm = new Map<string, PredictHandler>();

  /** The handler of a version once it has been invoked. */
  warmHandler(qualifier: string): PredictHandler | undefined {
    return this.#warm.get(qualifier);
  }

  configuration(input: GetFunctionConfigurationCommandInput) {
    const qualifier = input.Qualifier ?? '$LATEST';
    const variables = this.environments.get(qualifier);
    if (input.FunctionName !== FUNCTION_NAME || variables === undefined) {
      throw new Error(`ResourceNotFoundException: ${input.FunctionName}:${qualifier}`);
    }
    return { FunctionName: FUNCTION_NAME, Version: qualifier, Environment: { Variables: variables } };
  }

  async invoke(input: InvokeCommandInput) {
    const qualifier = input.Qualifier ?? '$LATEST';
    if (!(input.Payload instanceof Uint8Array)) throw new Error('the check sends its event as bytes');
    // Parsed as the Lambda runtime parses it: into an untyped event for the handler.
    const event: APIGatewayProxyEvent = JSON.parse(decoder.decode(input.Payload));
    try {
      let predict = this.#warm.get(qualifier);
      if (predict === undefined) {
        predict = createPredictHandler(readFunctionConfig(this.environments.get(qualifier) ?? {}), {
          logger: silentLogger,
          metrics: NO_METRICS,
        });
        this.#warm.set(qualifier, predict);
      }
      const result = await predict.handler(event, { awsRequestId: 'invoke' });
      return { StatusCode: 200, ExecutedVersion: qualifier, Payload: encoder.encode(JSON.stringify(result)) };
    } catch (error) {
      const thrown = error instanceof Error ? error : new Error(String(error));
      const payload = { errorType: thrown.name, errorMessage: thrown.message, trace: [] };
      return {
        StatusCode: 200,
        ExecutedVersion: qualifier,
        FunctionError: 'Unhandled',
        Payload: encoder.encode(JSON.stringify(payload)),
      };
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#warm.values()].map((predict) => predict.engine.close()));
  }
}

/** Mocked CodeDeploy and Lambda clients for one deployment, journaling every call in order. */
function mockedDeployment(
  fn: FakeLambdaFunction,
  deployment: { deploymentId: string; appSpec?: string; getDeploymentFails?: Error; reportFails?: Error },
) {
  const journal: string[] = [];
  const codedeploy = new CodeDeployClient({ region: REGION });
  const lambda = new LambdaClient({ region: REGION });
  const codedeployMock = mockClient(codedeploy);
  const lambdaMock = mockClient(lambda);
  codedeployMock.on(GetDeploymentCommand).callsFake((): GetDeploymentCommandOutput => {
    journal.push('GetDeployment');
    if (deployment.getDeploymentFails) throw deployment.getDeploymentFails;
    return {
      $metadata: {},
      deploymentInfo: {
        deploymentId: deployment.deploymentId,
        computePlatform: 'Lambda',
        revision: { revisionType: 'AppSpecContent', appSpecContent: { content: deployment.appSpec } },
      },
    };
  });
  codedeployMock.on(PutLifecycleEventHookExecutionStatusCommand).callsFake(() => {
    journal.push('PutLifecycleEventHookExecutionStatus');
    if (deployment.reportFails) throw deployment.reportFails;
    return { lifecycleEventHookExecutionId: HOOK_EXECUTION_ID };
  });
  lambdaMock.on(GetFunctionConfigurationCommand).callsFake((input: GetFunctionConfigurationCommandInput) => {
    journal.push('GetFunctionConfiguration');
    return fn.configuration(input);
  });
  lambdaMock.on(InvokeCommand).callsFake((input: InvokeCommandInput) => {
    journal.push('Invoke');
    return fn.invoke(input);
  });
  return {
    journal,
    codedeploy,
    lambda,
    getDeploymentInputs: () =>
      codedeployMock.commandCalls(GetDeploymentCommand).map((call) => call.args[0].input),
    reportInputs: () =>
      codedeployMock
        .commandCalls(PutLifecycleEventHookExecutionStatusCommand)
        .map((call) => call.args[0].input),
    configurationInputs: () =>
      lambdaMock.commandCalls(GetFunctionConfigurationCommand).map((call) => call.args[0].input),
    invokeInputs: () => lambdaMock.commandCalls(InvokeCommand).map((call) => call.args[0].input),
  };
}

/** The API Gateway event an Invoke carried. */
function eventOf(input: InvokeCommandInput | undefined): APIGatewayProxyEvent {
  assert.ok(input?.Payload instanceof Uint8Array, 'Invoke carries a payload');
  return JSON.parse(decoder.decode(input.Payload));
}

describe('runPreTrafficCheck: the BeforeAllowTraffic hook runs the golden examples on the target version and reports once', () => {
  let home: string;
  let store: LocalObjectStore;
  let registry: ModelRegistry;
  const fn = new FakeLambdaFunction();
  /** Lambda version of the predict function -> the iris manifest it serves. */
  const deployed = new Map<string, ModelManifest>();

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'sluice-pre-traffic-'));
    store = await LocalObjectStore.start({ directory: join(home, 's3'), port: 0 });
    registry = new ModelRegistry({ client: store.createClient(), bucket: store.bucket });
    const { goldenExamples: _, ...withoutGoldens } = irisExtras;
    // Fits the signature (publish checks names, datatypes, shapes and counts), but no FP32 tensor holds text.
    const badInput = GoldenExampleSchema.parse({
      inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 'wide'] }],
      outputs: [{ name: 'label', shape: [1], datatype: 'INT64', data: [0] }],
    });
    const versions: [string, PublishExtras][] = [
      ['1', irisExtras],
      ['2', withWrongExpectations(irisExtras)],
      ['3', withoutGoldens],
      ['4', { ...irisExtras, goldenExamples: [badInput] }],
    ];
    for (const [lambdaVersion, extras] of versions) {
      const manifest = await registry.publish({ name: 'iris', model: iris.modelPath, extras });
      deployed.set(lambdaVersion, manifest);
      fn.environments.set(lambdaVersion, {
        SLUICE_BUCKET: store.bucket,
        SLUICE_MODEL: 'iris',
        SLUICE_MODEL_VERSION: String(manifest.version),
        SLUICE_MODEL_SHA256: manifest.sha256,
        SLUICE_S3_ENDPOINT: store.endpoint,
        AWS_REGION: REGION,
      });
    }
    // Version 5 cannot start: its configuration is broken, so Lambda answers every invoke with FunctionError.
    fn.environments.set('5', { ...fn.environments.get('1'), SLUICE_CACHE_BYTES: '-1' });
    // Version 6 pins bytes that are not those of the model version it names.
    fn.environments.set('6', { ...fn.environments.get('1'), SLUICE_MODEL_SHA256: SHA_OF_NOTHING });
  });

  after(async () => {
    await fn.close();
    await store.stop();
    await rm(home, { recursive: true, force: true });
  });

  const run = (
    deployment: ReturnType<typeof mockedDeployment>,
    deploymentId: string,
    abortSignal?: AbortSignal,
  ) =>
    runPreTrafficCheck(
      { deploymentId, hookExecutionId: HOOK_EXECUTION_ID, ...(abortSignal ? { abortSignal } : {}) },
      {
        codedeploy: deployment.codedeploy,
        lambda: deployment.lambda,
        registry,
        logger: silentLogger,
        now: () => NOW,
      },
    );

  it('golden examples that match: reads the deployment, the target version, invokes it once per example, reports Succeeded', async () => {
    const deployment = mockedDeployment(fn, { deploymentId: 'd-GOLDEN', appSpec: jsonAppSpec('1') });
    const result = await run(deployment, 'd-GOLDEN');

    assert.deepEqual(result, { status: PreTrafficStatus.SUCCEEDED, reasons: [] });
    assert.deepEqual(deployment.journal, [
      'GetDeployment',
      'GetFunctionConfiguration',
      'Invoke',
      'Invoke',
      'Invoke',
      'PutLifecycleEventHookExecutionStatus',
    ]);
    assert.deepEqual(deployment.getDeploymentInputs(), [{ deploymentId: 'd-GOLDEN' }]);
    assert.deepEqual(deployment.configurationInputs(), [{ FunctionName: FUNCTION_NAME, Qualifier: '1' }]);
    const invokes = deployment.invokeInputs();
    for (const [index, input] of invokes.entries()) {
      assert.equal(input.FunctionName, FUNCTION_NAME);
      assert.equal(input.Qualifier, '1', 'the target version is invoked, never the alias');
      assert.equal(input.InvocationType, 'RequestResponse');
      const event = eventOf(input);
      assert.equal(event.httpMethod, 'POST');
      assert.equal(event.path, '/v2/models/iris/infer');
      assert.equal(event.isBase64Encoded, false);
      assert.equal(event.requestContext.requestId, `pre-traffic-d-GOLDEN-example-${index + 1}`);
      assert.equal(event.requestContext.stage, PRE_TRAFFIC_STAGE);
      const example = irisGoldens[index];
      assert.ok(example);
      assert.deepEqual(JSON.parse(event.body ?? ''), {
        id: `pre-traffic-d-GOLDEN-example-${index + 1}`,
        inputs: example.inputs,
        outputs: [{ name: 'label' }, { name: 'probabilities' }],
      });
    }
    assert.deepEqual(deployment.reportInputs(), [
      { deploymentId: 'd-GOLDEN', lifecycleEventHookExecutionId: HOOK_EXECUTION_ID, status: 'Succeeded' },
    ]);
    // The answers came from onnxruntime: the target version's handler loaded the model version it serves.
    const manifest = deployed.get('1');
    assert.ok(manifest);
    assert.ok(fn.warmHandler('1')?.engine.peek('iris', manifest.version), 'the target version ran the model');
  });

  it('golden examples that do not match: reports Failed, naming each example, output and index', async () => {
    const deployment = mockedDeployment(fn, { deploymentId: 'd-WRONG', appSpec: jsonAppSpec('2') });
    const result = await run(deployment, 'd-WRONG');

    assert.equal(result.status, PreTrafficStatus.FAILED);
    assert.equal(result.reasons.length, 2);
    assert.equal(result.reasons[0], 'example 2, output "label"[0]: expected 2, got 1');
    assert.match(
      result.reasons[1] ?? '',
      /^example 3, output "probabilities"\[1\]: expected 0\.5, got 0\.000371/,
    );
    assert.deepEqual(deployment.configurationInputs(), [{ FunctionName: FUNCTION_NAME, Qualifier: '2' }]);
    assert.equal(deployment.invokeInputs().length, 3, 'every example runs, also after a mismatch');
    assert.deepEqual(deployment.reportInputs(), [
      { deploymentId: 'd-WRONG', lifecycleEventHookExecutionId: HOOK_EXECUTION_ID, status: 'Failed' },
    ]);
  });

  it('no golden examples: asks GET /v2/models/{m}/ready of the target version and reports Succeeded on 200', async () => {
    const deployment = mockedDeployment(fn, { deploymentId: 'd-READY', appSpec: jsonAppSpec('3') });
    const result = await run(deployment, 'd-READY');

    assert.deepEqual(result, { status: PreTrafficStatus.SUCCEEDED, reasons: [] });
    const invokes = deployment.invokeInputs();
    assert.equal(invokes.length, 1);
    assert.equal(invokes[0]?.Qualifier, '3');
    const event = eventOf(invokes[0]);
    assert.equal(event.httpMethod, 'GET');
    assert.equal(event.path, '/v2/models/iris/ready');
    assert.equal(event.body, null);
    assert.deepEqual(deployment.reportInputs(), [
      { deploymentId: 'd-READY', lifecycleEventHookExecutionId: HOOK_EXECUTION_ID, status: 'Succeeded' },
    ]);
  });

  it('a golden example the target refuses (400): reports Failed with the status and the error it answered', async () => {
    const deployment = mockedDeployment(fn, { deploymentId: 'd-SHAPE', appSpec: jsonAppSpec('4') });
    const result = await run(deployment, 'd-SHAPE');

    assert.equal(result.status, PreTrafficStatus.FAILED);
    assert.equal(result.reasons.length, 1);
    assert.match(result.reasons[0] ?? '', /^example 1: answered 400: .*features/);
    assert.equal(deployment.reportInputs().length, 1);
    assert.equal(deployment.reportInputs()[0]?.status, 'Failed');
  });

  it('a target version that fails (FunctionError "Unhandled"): reports Failed with the error type and message', async () => {
    const deployment = mockedDeployment(fn, { deploymentId: 'd-CRASH', appSpec: jsonAppSpec('5') });
    const result = await run(deployment, 'd-CRASH');

    assert.equal(result.status, PreTrafficStatus.FAILED);
    assert.equal(result.reasons.length, 3);
    for (const [index, reason] of result.reasons.entries()) {
      assert.match(
        reason,
        new RegExp(
          `^example ${index + 1}: the function failed \\(Unhandled\\): ConfigError: SLUICE_CACHE_BYTES`,
        ),
      );
    }
    assert.deepEqual(deployment.reportInputs(), [
      { deploymentId: 'd-CRASH', lifecycleEventHookExecutionId: HOOK_EXECUTION_ID, status: 'Failed' },
    ]);
  });

  it('a target version pinning other bytes than its model version: reports Failed without invoking it', async () => {
    const deployment = mockedDeployment(fn, { deploymentId: 'd-SHA', appSpec: jsonAppSpec('6') });
    const result = await run(deployment, 'd-SHA');

    assert.equal(result.status, PreTrafficStatus.FAILED);
    assert.match(result.reasons[0] ?? '', /sluice-iris-predict:6 pins SLUICE_MODEL_SHA256 e3b0c442/);
    assert.deepEqual(deployment.invokeInputs(), []);
    assert.equal(deployment.reportInputs()[0]?.status, 'Failed');
  });

  it('the AppSpec in YAML: the same checks of the same target version', async () => {
    const deployment = mockedDeployment(fn, { deploymentId: 'd-YAML', appSpec: yamlAppSpec('1') });
    const result = await run(deployment, 'd-YAML');

    assert.deepEqual(result, { status: PreTrafficStatus.SUCCEEDED, reasons: [] });
    assert.deepEqual(deployment.configurationInputs(), [{ FunctionName: FUNCTION_NAME, Qualifier: '1' }]);
    assert.deepEqual(
      deployment.invokeInputs().map((input) => `${input.FunctionName}:${input.Qualifier}`),
      [`${FUNCTION_NAME}:1`, `${FUNCTION_NAME}:1`, `${FUNCTION_NAME}:1`],
    );
    assert.equal(deployment.reportInputs().length, 1);
  });

  it('GetDeployment throws: reports Failed exactly once, naming the error, and touches no function', async () => {
    const deployment = mockedDeployment(fn, {
      deploymentId: 'd-GONE',
      getDeploymentFails: new DeploymentDoesNotExistException({
        message: 'no deployment d-GONE',
        $metadata: {},
      }),
    });
    const result = await run(deployment, 'd-GONE');

    assert.deepEqual(result, {
      status: PreTrafficStatus.FAILED,
      reasons: ['the check could not complete: DeploymentDoesNotExistException: no deployment d-GONE'],
    });
    assert.deepEqual(deployment.journal, ['GetDeployment', 'PutLifecycleEventHookExecutionStatus']);
    assert.deepEqual(deployment.reportInputs(), [
      { deploymentId: 'd-GONE', lifecycleEventHookExecutionId: HOOK_EXECUTION_ID, status: 'Failed' },
    ]);
  });

  it('an AppSpec that is not a Lambda alias shift: reports Failed naming what is wrong', async () => {
    const deployment = mockedDeployment(fn, {
      deploymentId: 'd-ECS',
      appSpec: 'version: 0.0\nResources:\n  - svc:\n      Type: AWS::ECS::Service\n',
    });
    const result = await run(deployment, 'd-ECS');

    assert.equal(result.status, PreTrafficStatus.FAILED);
    assert.match(result.reasons[0] ?? '', /InvalidAppSpecError: .*Resources\[0\]\.svc\.Type/);
    assert.deepEqual(deployment.journal, ['GetDeployment', 'PutLifecycleEventHookExecutionStatus']);
  });

  it('a target version whose environment names no model: reports Failed naming the variable', async () => {
    fn.environments.set('7', { SLUICE_BUCKET: store.bucket });
    const deployment = mockedDeployment(fn, { deploymentId: 'd-FOREIGN', appSpec: jsonAppSpec('7') });
    const result = await run(deployment, 'd-FOREIGN');

    assert.equal(result.status, PreTrafficStatus.FAILED);
    assert.match(
      result.reasons[0] ?? '',
      /InvalidTargetError: sluice-iris-predict:7 is not a sluice predict function: SLUICE_MODEL/,
    );
    assert.deepEqual(deployment.invokeInputs(), []);
    assert.equal(deployment.reportInputs().length, 1);
  });

  it('checks cut short by the deadline: reports Failed (out of time) instead of leaving CodeDeploy waiting', async () => {
    const deployment = mockedDeployment(fn, { deploymentId: 'd-LATE', appSpec: jsonAppSpec('1') });
    const result = await run(deployment, 'd-LATE', AbortSignal.abort());

    assert.equal(result.status, PreTrafficStatus.FAILED);
    assert.match(result.reasons[0] ?? '', /^the check ran out of time/);
    assert.deepEqual(deployment.invokeInputs(), []);
    assert.deepEqual(deployment.reportInputs(), [
      { deploymentId: 'd-LATE', lifecycleEventHookExecutionId: HOOK_EXECUTION_ID, status: 'Failed' },
    ]);
  });

  it('a failure to report the status propagates, so Lambda retries the hook', async () => {
    const deployment = mockedDeployment(fn, {
      deploymentId: 'd-MUTE',
      appSpec: jsonAppSpec('3'),
      reportFails: new Error('ThrottlingException'),
    });
    await assert.rejects(run(deployment, 'd-MUTE'), /ThrottlingException/);
    assert.equal(deployment.reportInputs().length, 1);
  });

  it('functions/pre-traffic: parses the CodeDeploy event, reads its environment once and reports through real clients', async () => {
    const codedeployMock = mockClient(CodeDeployClient);
    const lambdaMock = mockClient(LambdaClient);
    const saved = { ...process.env };
    try {
      codedeployMock.on(GetDeploymentCommand).resolves({
        deploymentInfo: {
          revision: { revisionType: 'AppSpecContent', appSpecContent: { content: jsonAppSpec('3') } },
        },
      });
      codedeployMock.on(PutLifecycleEventHookExecutionStatusCommand).resolves({});
      lambdaMock.on(GetFunctionConfigurationCommand).callsFake((input) => fn.configuration(input));
      lambdaMock.on(InvokeCommand).callsFake((input) => fn.invoke(input));
      Object.assign(process.env, {
        SLUICE_BUCKET: store.bucket,
        SLUICE_S3_ENDPOINT: store.endpoint,
        AWS_REGION: REGION,
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      });
      const { handler } = await import('../../functions/pre-traffic/index.js');

      const result = await handler(
        { DeploymentId: 'd-ENTRY', LifecycleEventHookExecutionId: 'hook-entry' },
        { getRemainingTimeInMillis: () => 300_000 },
      );

      assert.deepEqual(result, { status: 'Succeeded', reasons: [] });
      assert.deepEqual(
        codedeployMock
          .commandCalls(PutLifecycleEventHookExecutionStatusCommand)
          .map((call) => call.args[0].input),
        [{ deploymentId: 'd-ENTRY', lifecycleEventHookExecutionId: 'hook-entry', status: 'Succeeded' }],
      );
      await assert.rejects(handler({ DeploymentId: 'd-ENTRY' }), /LifecycleEventHookExecutionId/);
    } finally {
      codedeployMock.restore();
      lambdaMock.restore();
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });

  it("functions/pre-traffic never loads onnxruntime-node: the hook's asset ships without it", async () => {
    const bundle = await build({
      entryPoints: [new URL('../../functions/pre-traffic/index.ts', import.meta.url).pathname],
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const imported = Object.values(bundle.metafile.inputs).flatMap((input) =>
      input.imports.map((entry) => entry.path),
    );
    assert.ok(imported.includes('@aws-sdk/client-lambda'), 'the metafile lists package imports');
    assert.deepEqual(
      imported.filter((path) => path.startsWith('onnxruntime')),
      [],
    );
  });
});

describe('parseAppSpec: reads the function, alias and target version of a Lambda deployment', () => {
  it('reads the JSON CloudFormation writes', () => {
    assert.deepEqual(parseAppSpec(jsonAppSpec('4', '3')), {
      resource: 'IrisPredict',
      functionName: FUNCTION_NAME,
      alias: ALIAS,
      currentVersion: '3',
      targetVersion: '4',
    });
  });

  it('reads the block YAML of the CodeDeploy user guide, versions as numbers or strings', () => {
    assert.deepEqual(parseAppSpec(yamlAppSpec('12')), {
      resource: 'IrisPredict',
      functionName: FUNCTION_NAME,
      alias: ALIAS,
      currentVersion: '1',
      targetVersion: '12',
    });
  });

  it('takes version ARNs and numbers for versions, and leaves CurrentVersion out on a first deployment', () => {
    const spec = parseAppSpec(
      JSON.stringify({
        version: 0,
        Resources: [
          {
            Fn: {
              Type: 'AWS::Lambda::Function',
              Properties: { Name: FUNCTION_NAME, Alias: ALIAS, TargetVersion: `${FUNCTION_NAME}:7` },
            },
          },
        ],
      }),
    );
    assert.equal(spec.targetVersion, '7');
    assert.equal(spec.currentVersion, undefined);
    assert.equal(parseAppSpec(jsonAppSpec('9').replace('"9"', '9')).targetVersion, '9');
  });

  it('refuses $LATEST, other resource types, several functions, and text that is neither JSON nor YAML', () => {
    assert.throws(
      () => parseAppSpec(jsonAppSpec('$LATEST')),
      /TargetVersion: must be a published Lambda version/,
    );
    assert.throws(
      () => parseAppSpec(jsonAppSpec('2').replace('AWS::Lambda::Function', 'AWS::ECS::Service')),
      InvalidAppSpecError,
    );
    const two = JSON.parse(jsonAppSpec('2'));
    two.Resources.push(two.Resources[0]);
    assert.throws(() => parseAppSpec(JSON.stringify(two)), /exactly one function/);
    assert.throws(() => parseAppSpec('{"version": 0.0,'), /not valid JSON/);
    assert.throws(() => parseAppSpec('Resources: [fn]'), /not valid YAML: YAML line 1/);
    assert.throws(() => parseAppSpec('   '), /empty/);
  });

  it('appSpecContentOf: takes appSpecContent, or the older string revision, and refuses S3 revisions', () => {
    assert.equal(appSpecContentOf({ revisionType: 'AppSpecContent', appSpecContent: { content: 'a' } }), 'a');
    assert.equal(appSpecContentOf({ revisionType: 'String', string: { content: 'b' } }), 'b');
    assert.throws(() => appSpecContentOf({ revisionType: 'S3' }), /no AppSpec content \(revision type S3\)/);
    assert.throws(() => appSpecContentOf(undefined), InvalidAppSpecError);
  });
});

describe('parseSimpleYaml: the block subset of YAML, or an error naming the line', () => {
  it('reads mappings, sequences, "- key:" items, quoted and plain scalars, comments, as strings', () => {
    const text = [
      '---',
      'a:',
      '- x',
      '- y: 1',
      '  z: "two # not a comment"',
      '-',
      '  - nested',
      "b: it's plain   # a comment",
      "c: 'it''s quoted'",
      'd:',
      '  e: "\\u00e9"',
    ].join('\n');
    assert.deepEqual(parseSimpleYaml(text), {
      a: ['x', { y: '1', z: 'two # not a comment' }, ['nested']],
      b: "it's plain",
      c: "it's quoted",
      d: { e: 'é' },
    });
  });

  it('refuses flow collections, anchors, tabs, duplicate keys, bad indentation and unterminated quotes', () => {
    const cases: [string, RegExp][] = [
      ['a: [1, 2]', /line 1: "\[" starts YAML outside the supported subset/],
      ['a: &anchor 1', /line 1: "&"/],
      ['a: |\n  text', /line 1: "\|"/],
      ['a:\n\tb: 1', /line 2: tabs/],
      ['a: 1\na: 2', /line 2: key "a" appears twice/],
      ['a:\n  b: 1\n c: 2', /line 3: unexpected indentation/],
      ['a: "open', /line 1: unterminated/],
      ['__proto__: 1', /line 1: key "__proto__" is not accepted/],
      ['- a\nb: 1', /line 2: does not continue the document/],
    ];
    for (const [text, message] of cases) assert.throws(() => parseSimpleYaml(text), message, text);
    assert.throws(() => parseSimpleYaml('a: {}'), SimpleYamlError);
  });

  it('an empty document is null', () => {
    assert.equal(parseSimpleYaml('# nothing\n\n'), null);
  });
});

describe('buildProxyEvent and goldenInferBody: the target is invoked exactly as API Gateway would invoke it', () => {
  it('builds a REST proxy event with the method, path, body and request id', () => {
    const event = buildProxyEvent({
      method: 'POST',
      path: '/v2/models/iris/infer',
      body: '{}',
      requestId: 'r-1',
      requestTimeEpoch: NOW,
    });
    assert.equal(event.httpMethod, 'POST');
    assert.equal(event.path, '/v2/models/iris/infer');
    assert.equal(event.body, '{}');
    assert.equal(event.isBase64Encoded, false);
    assert.equal(event.headers['content-type'], 'application/json');
    assert.deepEqual(event.multiValueHeaders['content-type'], ['application/json']);
    assert.equal(event.requestContext.requestId, 'r-1');
    assert.equal(event.requestContext.requestTimeEpoch, NOW);
    assert.equal(event.requestContext.httpMethod, 'POST');
    assert.equal(
      buildProxyEvent({ method: 'GET', path: '/x', requestId: 'r', requestTimeEpoch: 0 }).body,
      null,
    );
  });

  it('fills an input datatype from the model, requests only the expected outputs, writes INT64 exactly', () => {
    const example = GoldenExampleSchema.parse({
      inputs: [{ name: 'ids', shape: [2], data: [9223372036854775807n, 1] }],
      outputs: [{ name: 'y', shape: [2], data: [1, 2] }],
    });
    const body = goldenInferBody(example, [{ name: 'ids', datatype: 'INT64', shape: [-1] }], 'req');
    assert.equal(
      body,
      '{"id":"req","inputs":[{"name":"ids","shape":[2],"datatype":"INT64","data":[9223372036854775807,1]}],"outputs":[{"name":"y"}]}',
    );
    assert.throws(() => goldenInferBody(example, [], 'req'), /input "ids" is not an input of the model/);
  });
});

describe('judgeInferInvocation and judgeReadyInvocation: a target passes only with 200 and matching outputs of its own version', () => {
  const target: TargetModel = { model: 'iris', version: 4, sha256: undefined };
  const example = GoldenExampleSchema.parse({
    inputs: [{ name: 'x', shape: [1], data: [1] }],
    outputs: [
      { name: 'label', shape: [1], data: ['9223372036854775807'] },
      { name: 'p', shape: [2], data: [0.25, 0.75] },
    ],
    tolerance: 0.001,
  });
  const answer = (statusCode: number, body: string): Invocation => ({
    Payload: encoder.encode(JSON.stringify({ statusCode, headers: {}, body })),
  });
  const inferBody = (label: string, p: string, version = '4') =>
    `{"model_name":"iris","model_version":"${version}","outputs":[{"name":"label","datatype":"INT64","shape":[1],"data":[${label}]},{"name":"p","datatype":"FP32","shape":[2],"data":${p}}]}`;
  const judge = (invocation: Invocation) =>
    judgeInferInvocation(invocation, { label: 'example 1', target, example });

  it('passes matching outputs, INT64 beyond 2^53 compared exactly from the body text', () => {
    assert.deepEqual(judge(answer(200, inferBody('9223372036854775807', '[0.2501, 0.7499]'))), []);
    assert.deepEqual(judge(answer(200, inferBody('9223372036854775806', '[0.25, 0.75]'))), [
      'example 1, output "label"[0]: expected 9223372036854775807, got 9223372036854775806',
    ]);
  });

  it('names the output and index outside the tolerance, and missing or short outputs', () => {
    assert.deepEqual(judge(answer(200, inferBody('9223372036854775807', '[0.25, 0.8]'))), [
      'example 1, output "p"[1]: expected 0.75, got 0.8',
    ]);
    assert.deepEqual(judge(answer(200, inferBody('9223372036854775807', '[0.25]'))), [
      'example 1, output "p": expected 2 values, got 1',
    ]);
    const onlyLabel =
      '{"model_name":"iris","model_version":"4","outputs":[{"name":"label","datatype":"INT64","shape":[1],"data":[9223372036854775807]}]}';
    assert.deepEqual(judge(answer(200, onlyLabel)), ['example 1, output "p": missing from the outputs']);
  });

  it('fails a FunctionError, a non-200 answer, another version, and answers that are not V2 responses', () => {
    const crash: Invocation = {
      FunctionError: 'Unhandled',
      Payload: encoder.encode('{"errorType":"Runtime.ExitError","errorMessage":"exited with signal 9"}'),
    };
    assert.deepEqual(judge(crash), [
      'example 1: the function failed (Unhandled): Runtime.ExitError: exited with signal 9',
    ]);
    assert.deepEqual(judge(answer(503, '{"error":"model iris version 4 cannot be loaded"}')), [
      'example 1: answered 503: model iris version 4 cannot be loaded',
    ]);
    assert.deepEqual(judge(answer(200, inferBody('9223372036854775807', '[0.25, 0.75]', '3'))), [
      'example 1: served model "iris" version 3, expected "iris" version 4',
    ]);
    assert.match(
      judge(answer(200, '{"outputs":[]}'))[0] ?? '',
      /^example 1: the response is not a V2 inference response/,
    );
    assert.match(judge(answer(200, 'not json'))[0] ?? '', /^example 1: the response is not JSON/);
    assert.match(judge({ Payload: encoder.encode('"hello"') })[0] ?? '', /no API Gateway proxy result/);
    assert.match(judge({})[0] ?? '', /returned no JSON: \(empty\)/);
  });

  it('decodes base64 bodies', () => {
    const body = Buffer.from(inferBody('9223372036854775807', '[0.25, 0.75]')).toString('base64');
    assert.deepEqual(
      judge({ Payload: encoder.encode(JSON.stringify({ statusCode: 200, body, isBase64Encoded: true })) }),
      [],
    );
  });

  it('ready: 200 with ready true for the target version passes; anything else fails', () => {
    assert.deepEqual(
      judgeReadyInvocation(answer(200, '{"name":"iris","version":"4","ready":true}'), target),
      [],
    );
    assert.deepEqual(judgeReadyInvocation(answer(503, '{"error":"store unreachable"}'), target), [
      'ready check: answered 503: store unreachable',
    ]);
    assert.deepEqual(
      judgeReadyInvocation(answer(200, '{"name":"iris","version":"2","ready":true}'), target),
      ['ready check: served model "iris" version 2, expected "iris" version 4'],
    );
  });
});

describe('compareGoldenOutputs: the comparison shared by publish-time and pre-traffic checks', () => {
  const expected = GoldenExampleSchema.parse({
    inputs: [{ name: 'x', shape: [1], data: [0] }],
    outputs: [
      { name: 'p', shape: [1, 2], data: [[100, 0.5]] },
      { name: 'ids', shape: [2], data: ['9007199254740993', 2] },
      { name: 'words', shape: [1], data: ['yes'] },
      { name: 'nan', shape: [1], data: ['NaN'] },
    ],
  }).outputs;
  const actual = (p: unknown, ids: unknown, words: unknown, nan: unknown) => [
    { name: 'p', data: p },
    { name: 'ids', data: ids },
    { name: 'words', data: words },
    { name: 'nan', data: nan },
  ];

  it('numbers match within tolerance * max(1, |expected|), nested or flat alike', () => {
    assert.deepEqual(
      compareGoldenOutputs(
        expected,
        actual([100.009, 0.5001], [9007199254740993n, 2], ['yes'], [Number.NaN]),
        1e-4,
      ),
      [],
    );
    assert.deepEqual(
      compareGoldenOutputs(
        expected,
        actual([[100.02, 0.5]], [9007199254740993n, 2], ['yes'], [Number.NaN]),
        1e-4,
        'example 3',
      ),
      ['example 3, output "p"[0]: expected 100, got 100.02'],
    );
  });

  it('64-bit integers and strings match exactly; a V2 null matches an expected non-finite float', () => {
    assert.deepEqual(
      compareGoldenOutputs(expected, actual([100, 0.5], [9007199254740992n, 2], ['no'], [null]), 1e-4),
      [
        'example, output "ids"[0]: expected 9007199254740993, got 9007199254740992',
        'example, output "words"[0]: expected yes, got no',
      ],
    );
  });

  it('checkGoldenExamples reports through it, unchanged: the iris goldens pass in-process, wrong ones are named', async () => {
    const session = await ort.InferenceSession.create(iris.modelPath);
    try {
      const signature = {
        inputs: [{ name: 'features', datatype: 'FP32' as const, shape: [-1, 4] }],
        outputs: [
          { name: 'label', datatype: 'INT64' as const, shape: [-1] },
          { name: 'probabilities', datatype: 'FP32' as const, shape: [-1, 3] },
        ],
      };
      assert.deepEqual(await checkGoldenExamples(session, { ...signature, goldenExamples: irisGoldens }), {
        passed: true,
        examples: 3,
        failures: [],
      });
      const wrong = withWrongExpectations(irisExtras).goldenExamples ?? [];
      const result = await checkGoldenExamples(session, { ...signature, goldenExamples: wrong });
      assert.equal(result.passed, false);
      assert.equal(result.failures[0], 'example 2, output "label"[0]: expected 2, got 1');
      assert.match(
        result.failures[1] ?? '',
        /^example 3, output "probabilities"\[1\]: expected 0\.5, got 0\.000371/,
      );
    } finally {
      await session.release();
    }
  });
});

describe('readTargetModel, readHookConfig and LifecycleHookEventSchema: what comes from outside is parsed, naming the bad value', () => {
  it('readTargetModel reads the model version a Lambda version serves', () => {
    assert.deepEqual(
      readTargetModel(
        { SLUICE_MODEL: 'iris', SLUICE_MODEL_VERSION: '4', SLUICE_MODEL_SHA256: SHA_OF_NOTHING },
        'fn:9',
      ),
      {
        model: 'iris',
        version: 4,
        sha256: SHA_OF_NOTHING,
      },
    );
    assert.throws(
      () => readTargetModel({ SLUICE_MODEL: 'iris', SLUICE_MODEL_VERSION: '04' }, 'fn:9'),
      (error: unknown) =>
        error instanceof InvalidTargetError &&
        /fn:9 .*SLUICE_MODEL_VERSION must be a version number.*got "04"/.test(error.message),
    );
    assert.throws(() => readTargetModel(undefined, 'fn:9'), /SLUICE_MODEL .*got null/);
  });

  it('readHookConfig reads the bucket, endpoint and region, failing fast with the variable and value', () => {
    assert.deepEqual(readHookConfig({ SLUICE_BUCKET: 'models', AWS_REGION: 'eu-west-1' }), {
      bucket: 'models',
      s3Endpoint: undefined,
      region: 'eu-west-1',
    });
    assert.equal(
      readHookConfig({
        SLUICE_BUCKET: 'models',
        AWS_REGION: 'eu-west-1',
        SLUICE_S3_ENDPOINT: 'http://127.0.0.1:4568',
      }).s3Endpoint,
      'http://127.0.0.1:4568',
    );
    assert.throws(
      () => readHookConfig({ AWS_REGION: 'eu-west-1' }),
      /^ConfigError: SLUICE_BUCKET is required; got null$/,
    );
    assert.throws(
      () =>
        readHookConfig({ SLUICE_BUCKET: 'models', AWS_REGION: 'eu-west-1', SLUICE_S3_ENDPOINT: 'not a url' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message.includes('SLUICE_S3_ENDPOINT') &&
        error.message.includes('"not a url"'),
    );
    assert.throws(() => readHookConfig({ SLUICE_BUCKET: 'models' }), /AWS_REGION is required/);
  });

  it('LifecycleHookEventSchema takes the two ids CodeDeploy sends', () => {
    assert.deepEqual(
      LifecycleHookEventSchema.parse({ DeploymentId: 'd-1', LifecycleEventHookExecutionId: 'e-1' }),
      {
        DeploymentId: 'd-1',
        LifecycleEventHookExecutionId: 'e-1',
      },
    );
    assert.equal(LifecycleHookEventSchema.safeParse({ DeploymentId: 'd-1' }).success, false);
  });
});
