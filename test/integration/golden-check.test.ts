import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as ort from 'onnxruntime-node';
import {
  GOLDEN_CHECK_STAGE,
  GOLDEN_CHECK_USER_AGENT,
  goldenProxyEvent,
  httpAnswerOf,
  type Invocation,
  lambdaGoldenSend,
} from '../../lib/aws/lambda/lambda-golden-send.js';
import { AlarmThresholdsSchema } from '../../lib/core/config/alarm-thresholds.js';
import { ConfigError } from '../../lib/core/environment/ConfigError.js';
import { readControlPlaneConfig } from '../../lib/core/environment/control-plane-environment.js';
import {
  FunctionVariable,
  InvalidModelIdentityError,
  predictEnvironment,
  readModelIdentity,
  withModelVersion,
} from '../../lib/core/environment/predict-environment.js';
import { compareGoldenOutputs } from '../../lib/core/golden/compare-golden-outputs.js';
import {
  type GoldenHttpAnswer,
  goldenInferBody,
  httpGoldenTransport,
} from '../../lib/core/golden/http-golden-transport.js';
import { runGoldenCheck } from '../../lib/core/golden/run-golden-check.js';
import {
  type GoldenExample,
  GoldenExampleSchema,
  type ModelManifest,
  type PublishExtras,
  PublishExtrasSchema,
} from '../../lib/core/manifest/ModelManifest.js';
import { LocalObjectStore } from '../../lib/local/LocalObjectStore.js';
import { SAMPLE_MODELS } from '../../lib/local/sample-models.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { checkGoldenExamples } from '../../lib/serving/check-golden-examples.js';
import { createPredictHandler, type PredictHandler } from '../../lib/serving/create-predict-handler.js';
import { readFunctionConfig } from '../../lib/serving/function-config.js';
import { NO_METRICS } from '../../lib/serving/metrics/ServingMetrics.js';
import { sessionGoldenTransport } from '../../lib/serving/session-golden-transport.js';
import { ModelRegistry } from '../../lib/storage/ModelRegistry.js';
import { FakeAwsControlPlane } from '../fixtures/fake-aws-control-plane.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const REGION = 'us-east-1';
const FUNCTION_NAME = 'sluice-iris-predict';
const NOW = 1_700_000_000_000;
const SHA_OF_NOTHING = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** The predict function's deployment package (FunctionConfiguration's CodeSha256). */
const CODE_SHA = 'gJrXW1BqQMgjcWZNzAsu3KO/MGfDeeDM1WaVs55/i5c=';

const iris = SAMPLE_MODELS.find((sample) => sample.name === 'iris');
assert.ok(iris, 'SAMPLE_MODELS lists iris');
const irisExtras = PublishExtrasSchema.parse(JSON.parse(await readFile(iris.extrasPath, 'utf8')));
const irisGoldens: GoldenExample[] = irisExtras.goldenExamples ?? [];
assert.equal(irisGoldens.length, 3, 'the iris sample has three golden examples');

const silentLogger = new Logger({ serviceName: 'sluice-test', logLevel: 'SILENT' });
const encoder = new TextEncoder();

/** A golden example's outputs changed so the model cannot match them. */
function withWrongExpectations(extras: PublishExtras): PublishExtras {
  const wrong = structuredClone(extras);
  const [, second, third] = wrong.goldenExamples ?? [];
  assert.ok(second?.outputs[0] && third?.outputs[1]);
  second.outputs[0].data = [2];
  third.outputs[1].data = [0.0000000330172, 0.5, 0.9996281862258911];
  return wrong;
}

describe('goldenProxyEvent and goldenInferBody: the version under test is invoked exactly as API Gateway would invoke it', () => {
  it('builds a REST proxy event with the method, path, body and request id, on its own stage', () => {
    const event = goldenProxyEvent(
      { method: 'POST', path: '/v2/models/iris/infer', body: '{}', requestId: 'r-1' },
      NOW,
    );
    assert.equal(event.httpMethod, 'POST');
    assert.equal(event.path, '/v2/models/iris/infer');
    assert.equal(event.body, '{}');
    assert.equal(event.isBase64Encoded, false);
    assert.equal(event.headers['content-type'], 'application/json');
    assert.deepEqual(event.multiValueHeaders['content-type'], ['application/json']);
    assert.equal(event.requestContext.requestId, 'r-1');
    assert.equal(event.requestContext.requestTimeEpoch, NOW);
    assert.equal(event.requestContext.httpMethod, 'POST');
    assert.equal(event.requestContext.stage, GOLDEN_CHECK_STAGE);
    assert.equal(event.requestContext.identity.userAgent, GOLDEN_CHECK_USER_AGENT);
    const ready = goldenProxyEvent({ method: 'GET', path: '/x', requestId: 'r' }, 0);
    assert.equal(ready.body, null);
    assert.equal(ready.headers['content-type'], undefined, 'no body, no content type');
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

describe('compareGoldenOutputs: the comparison every transport shares', () => {
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

  it('FP32 and FP16 outputs are compared as their type: a shortest text matches the exact value it stands for', () => {
    // 4112 is a half; its shortest text is 4110, 4.9e-4 away: outside 1e-4 as numbers, the same half as FP16.
    const half = [{ name: 'y', shape: [2], data: [4112, 0.0999755859375] }];
    const written = (datatype?: string) => [
      { name: 'y', data: [4110, 0.09998], ...(datatype ? { datatype } : {}) },
    ];
    assert.deepEqual(compareGoldenOutputs(half, written('FP16'), 1e-4), []);
    assert.equal(compareGoldenOutputs(half, written(), 1e-4).length, 1, 'as plain numbers they differ');
    // 0.1 as FP32 is 0.10000000149011612; the answer writes 0.1.
    assert.deepEqual(
      compareGoldenOutputs(
        [{ name: 'p', shape: [1], data: [0.10000000149011612] }],
        [{ name: 'p', data: [0.1], datatype: 'FP32' }],
        0,
      ),
      [],
    );
    assert.deepEqual(
      compareGoldenOutputs(
        [{ name: 'y', shape: [1], data: [4112] }],
        [{ name: 'y', data: [4128], datatype: 'FP16' }],
        1e-4,
      ),
      ['example, output "y"[0]: expected 4112, got 4128'],
      'a different half still fails',
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

describe('runGoldenCheck over HTTP: a version passes only with 200 and matching outputs of its own version', () => {
  const example = GoldenExampleSchema.parse({
    inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }],
    outputs: [
      { name: 'label', shape: [1], data: ['9223372036854775807'] },
      { name: 'p', shape: [2], data: [0.25, 0.75] },
    ],
    tolerance: 0.001,
  });
  const inferBody = (label: string, p: string, version = '4') =>
    `{"model_name":"iris","model_version":"${version}","outputs":[{"name":"label","datatype":"INT64","shape":[1],"data":[${label}]},{"name":"p","datatype":"FP32","shape":[2],"data":${p}}]}`;
  /** The check of one example against a version that answers `answer`, as the local stack's HTTP would. */
  const check = async (answer: GoldenHttpAnswer | (() => never), goldenExamples = [example]) => {
    const sent: string[] = [];
    const result = await runGoldenCheck({
      manifest: { goldenExamples },
      expected: { model: 'iris', version: 4 },
      transport: httpGoldenTransport({
        send: async (request) => {
          sent.push(`${request.method} ${request.path}`);
          return typeof answer === 'function' ? answer() : answer;
        },
        inferPath: '/v2/models/iris/versions/4/infer',
        readyPath: '/v2/models/iris/versions/4/ready',
        inputs: [],
        expected: { model: 'iris', version: 4 },
      }),
    });
    return { ...result, sent };
  };

  it('passes matching outputs, INT64 beyond 2^53 compared exactly from the body text', async () => {
    const passed = await check({ status: 200, body: inferBody('9223372036854775807', '[0.2501, 0.7499]') });
    assert.deepEqual(passed, {
      passed: true,
      examples: 1,
      failures: [],
      sent: ['POST /v2/models/iris/versions/4/infer'],
    });
    const off = await check({ status: 200, body: inferBody('9223372036854775806', '[0.25, 0.75]') });
    assert.deepEqual(off.failures, [
      'example 1, output "label"[0]: expected 9223372036854775807, got 9223372036854775806',
    ]);
  });

  it('names the output and index outside the tolerance, and missing or short outputs', async () => {
    assert.deepEqual(
      (await check({ status: 200, body: inferBody('9223372036854775807', '[0.25, 0.8]') })).failures,
      ['example 1, output "p"[1]: expected 0.75, got 0.8'],
    );
    assert.deepEqual(
      (await check({ status: 200, body: inferBody('9223372036854775807', '[0.25]') })).failures,
      ['example 1, output "p": expected 2 values, got 1'],
    );
  });

  it('fails a non-200 answer, another version, answers that are not V2 responses, and a transport that throws', async () => {
    assert.deepEqual(
      (await check({ status: 503, body: '{"error":"model iris version 4 cannot be loaded"}' })).failures,
      ['example 1: answered 503: model iris version 4 cannot be loaded'],
    );
    assert.deepEqual(
      (await check({ status: 200, body: inferBody('9223372036854775807', '[0.25, 0.75]', '3') })).failures,
      ['example 1: served model "iris" version 3, expected "iris" version 4'],
    );
    assert.match(
      (await check({ status: 200, body: '{"outputs":[]}' })).failures[0] ?? '',
      /^example 1: the response is not a V2 inference response/,
    );
    assert.match(
      (await check({ status: 200, body: 'not json' })).failures[0] ?? '',
      /^example 1: the response is not JSON/,
    );
    const unreachable = await check(() => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:3000');
    });
    assert.deepEqual(unreachable.failures, ['example 1: connect ECONNREFUSED 127.0.0.1:3000']);
  });

  it('without golden examples, asks whether the version is ready and names the version that answered otherwise', async () => {
    assert.deepEqual(await check({ status: 200, body: '{"name":"iris","version":"4","ready":true}' }, []), {
      passed: true,
      examples: 0,
      failures: [],
      sent: ['GET /v2/models/iris/versions/4/ready'],
    });
    assert.deepEqual((await check({ status: 503, body: '{"error":"store unreachable"}' }, [])).failures, [
      'ready check: answered 503: store unreachable',
    ]);
    assert.deepEqual(
      (await check({ status: 200, body: '{"name":"iris","version":"2","ready":true}' }, [])).failures,
      ['ready check: served model "iris" version 2, expected "iris" version 4'],
    );
  });
});

describe('httpAnswerOf: what a Lambda Invoke answered, read as the HTTP answer inside the proxy result', () => {
  // Invoke's response: FunctionError and Payload (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_ResponseSyntax);
  // an unhandled error's payload is {"errorType","errorMessage","trace"} as the Node.js runtime writes it.
  it('reads status and body, decoding base64 bodies', () => {
    const body = '{"ok":true}';
    assert.deepEqual(httpAnswerOf({ Payload: encoder.encode(JSON.stringify({ statusCode: 200, body })) }), {
      status: 200,
      body,
    });
    const encoded = Buffer.from(body).toString('base64');
    assert.deepEqual(
      httpAnswerOf({
        Payload: encoder.encode(JSON.stringify({ statusCode: 200, body: encoded, isBase64Encoded: true })),
      }),
      { status: 200, body },
    );
  });

  it('throws naming a function error, a payload that is no proxy result, and an empty payload', () => {
    const crash: Invocation = {
      FunctionError: 'Unhandled',
      Payload: encoder.encode(
        '{"errorType":"Runtime.ExitError","errorMessage":"exited with signal 9","trace":[]}',
      ),
    };
    assert.throws(
      () => httpAnswerOf(crash),
      /^GoldenTransportError: the function failed \(Unhandled\): Runtime\.ExitError: exited with signal 9$/,
    );
    assert.throws(
      () => httpAnswerOf({ Payload: encoder.encode('"hello"') }),
      /no API Gateway proxy result: "hello"/,
    );
    assert.throws(() => httpAnswerOf({}), /returned no JSON: \(empty\)/);
  });
});

describe('one release check, three transports: the same golden examples judged the same in-process, over HTTP and through Lambda Invoke', () => {
  let home: string;
  let store: LocalObjectStore;
  let registry: ModelRegistry;
  let aws: FakeAwsControlPlane;
  /** Each Lambda version's predict handler, created at its first invoke (the init phase) and kept warm. */
  const warm = new Map<string, PredictHandler>();
  /** The events the function received, per Lambda version. */
  const received = new Map<string, APIGatewayProxyEvent[]>();
  let good: ModelManifest;
  let wrong: ModelManifest;
  let none: ModelManifest;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'sluice-golden-'));
    store = await LocalObjectStore.start({ directory: join(home, 's3'), port: 0 });
    registry = new ModelRegistry({ store: store.objects() });
    const { goldenExamples: _, ...withoutGoldens } = irisExtras;
    good = await publishVersion(registry, { name: 'iris', model: iris.modelPath, extras: irisExtras });
    wrong = await publishVersion(registry, {
      name: 'iris',
      model: iris.modelPath,
      extras: withWrongExpectations(irisExtras),
    });
    none = await publishVersion(registry, { name: 'iris', model: iris.modelPath, extras: withoutGoldens });
    const environmentOf = (manifest: ModelManifest) => ({
      ...predictEnvironment({
        bucket: store.bucket,
        model: 'iris',
        version: manifest.version,
        sha256: manifest.sha256,
        alarms: AlarmThresholdsSchema.parse({ evaluationPeriods: 1 }),
      }),
      [FunctionVariable.S3_ENDPOINT]: store.endpoint,
    });
    aws = new FakeAwsControlPlane(FUNCTION_NAME, environmentOf(good), CODE_SHA);
    // Lambda versions 1, 2 and 3 serve the model versions of the same numbers.
    for (const manifest of [good, wrong, none])
      aws.addVersion(String(manifest.version), environmentOf(manifest));
    // Lambda version 9 cannot start: its configuration is broken, so Lambda answers every invoke with FunctionError.
    aws.addVersion('9', { ...environmentOf(good), [FunctionVariable.CACHE_BYTES]: '-1' });
    // The REAL predict handler of the invoked version, against the real embedded store.
    aws.run = async (configuration, event) => {
      const version = configuration.Version ?? '';
      received.set(version, [...(received.get(version) ?? []), event]);
      let predict = warm.get(version);
      if (predict === undefined) {
        // The runtime's own variables join the configured ones
        // (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
        const variables = { ...configuration.Environment?.Variables, AWS_REGION: REGION };
        predict = createPredictHandler(readFunctionConfig(variables), {
          logger: silentLogger,
          metrics: NO_METRICS,
        });
        warm.set(version, predict);
      }
      return predict.handler(event, { awsRequestId: 'invoke' });
    };
  });

  after(async () => {
    await Promise.all([...warm.values()].map((predict) => predict.engine.close()));
    await store.stop();
    await rm(home, { recursive: true, force: true });
  });

  /** The check of one Lambda version through Invoke; with the Invokes attempted and the events the function got. */
  const viaLambda = async (qualifier: string, manifest: ModelManifest) => {
    aws.journal.length = 0;
    received.clear();
    const result = await runGoldenCheck({
      manifest,
      expected: { model: 'iris', version: manifest.version },
      transport: httpGoldenTransport({
        send: lambdaGoldenSend({
          lambda: aws.lambda,
          functionName: FUNCTION_NAME,
          qualifier,
          now: () => NOW,
        }),
        inferPath: '/v2/models/iris/infer',
        readyPath: '/v2/models/iris/ready',
        inputs: manifest.inputs,
        expected: { model: 'iris', version: manifest.version },
      }),
    });
    return { result, invoked: aws.calls('Invoke'), events: received.get(qualifier) ?? [] };
  };

  const inProcess = async (manifest: ModelManifest) => {
    const session = await ort.InferenceSession.create(iris.modelPath);
    try {
      return await runGoldenCheck({ manifest, transport: sessionGoldenTransport(session, manifest) });
    } finally {
      await session.release();
    }
  };

  it('matching goldens pass both ways; Lambda gets one synchronous Invoke per example, the proxy event API Gateway sends', async () => {
    const { result, invoked, events } = await viaLambda('1', good);
    assert.deepEqual(result, { passed: true, examples: 3, failures: [] });
    assert.deepEqual(await inProcess(good), { passed: true, examples: 3, failures: [] });
    // The fake journals an Invoke's Qualifier; it answers only the function FUNCTION_NAME names, and only a
    // synchronous (RequestResponse) invocation with the function's answer.
    assert.deepEqual(invoked, Array(3).fill({ Qualifier: '1' }));
    assert.equal(events.length, 3);
    for (const [index, event] of events.entries()) {
      assert.equal(event.httpMethod, 'POST');
      assert.equal(event.path, '/v2/models/iris/infer');
      assert.equal(event.requestContext.requestId, `sluice-golden-${index + 1}`);
      assert.equal(event.requestContext.requestTimeEpoch, NOW);
    }
  });

  it('wrong expectations fail with the same lines in-process and through Lambda', async () => {
    const lambda = (await viaLambda('2', wrong)).result;
    const local = await inProcess(wrong);
    assert.equal(lambda.passed, false);
    assert.equal(lambda.failures[0], 'example 2, output "label"[0]: expected 2, got 1');
    assert.match(
      lambda.failures[1] ?? '',
      /^example 3, output "probabilities"\[1\]: expected 0\.5, got 0\.000371/,
    );
    assert.deepEqual(local.failures, lambda.failures);
  });

  it('a version without golden examples only has to answer ready; one that cannot start fails naming its error', async () => {
    const ready = await viaLambda('3', none);
    assert.deepEqual(ready.result, { passed: true, examples: 0, failures: [] });
    assert.deepEqual(
      ready.events.map((event) => event.path),
      ['/v2/models/iris/ready'],
    );
    const broken = (await viaLambda('9', good)).result;
    assert.equal(broken.failures.length, 3);
    assert.match(
      broken.failures[0] ?? '',
      /^example 1: the function failed \(Unhandled\): ConfigError: SLUICE_CACHE_BYTES/,
    );
  });
});

describe('the predict function environment contract: one module writes and reads it', () => {
  it('predictEnvironment renders what readFunctionConfig and readModelIdentity read back', () => {
    const environment = predictEnvironment({
      bucket: 'models',
      model: 'iris',
      version: 4,
      sha256: SHA_OF_NOTHING,
      alarms: AlarmThresholdsSchema.parse({ errorRatePercent: 2, p99LatencyMs: 500, evaluationPeriods: 1 }),
      alarmTopicArn: 'topic-arn',
    });
    assert.deepEqual(readModelIdentity(environment, 'fn:9'), {
      model: 'iris',
      version: 4,
      sha256: SHA_OF_NOTHING,
    });
    const config = readFunctionConfig({ ...environment, AWS_REGION: REGION });
    assert.equal(config.bucket, 'models');
    assert.equal(config.version, 4);
    assert.equal(config.sha256, SHA_OF_NOTHING);
    assert.deepEqual(withModelVersion(environment, 5, 'f'.repeat(64)), {
      ...environment,
      SLUICE_MODEL_VERSION: '5',
      SLUICE_MODEL_SHA256: 'f'.repeat(64),
    });
  });

  it('readModelIdentity names the function, the variable and the value it got', () => {
    assert.throws(
      () => readModelIdentity({ SLUICE_MODEL: 'iris', SLUICE_MODEL_VERSION: '04' }, 'fn:9'),
      (error: unknown) =>
        error instanceof InvalidModelIdentityError &&
        /fn:9 .*SLUICE_MODEL_VERSION must be a version number.*got "04"/.test(error.message),
    );
    assert.throws(() => readModelIdentity(undefined, 'fn:9'), /SLUICE_MODEL .*got null/);
  });

  it('readControlPlaneConfig reads bucket, endpoint, region, model functions and retention, failing fast', () => {
    assert.deepEqual(
      readControlPlaneConfig({
        SLUICE_BUCKET: 'models',
        AWS_REGION: 'eu-west-1',
        SLUICE_MODEL_FUNCTIONS: '{"iris":"Sluice-Iris-AbC"}',
        SLUICE_KEEP_VERSIONS: '5',
      }),
      {
        bucket: 'models',
        s3Endpoint: undefined,
        region: 'eu-west-1',
        modelFunctions: { iris: 'Sluice-Iris-AbC' },
        keepVersions: 5,
      },
    );
    assert.throws(
      () => readControlPlaneConfig({ AWS_REGION: 'eu-west-1' }),
      /^ConfigError: SLUICE_BUCKET is required; got null$/,
    );
    assert.throws(
      () =>
        readControlPlaneConfig({
          SLUICE_BUCKET: 'models',
          AWS_REGION: 'eu-west-1',
          SLUICE_MODEL_FUNCTIONS: '{"Iris!":1}',
        }),
      (error: unknown) => error instanceof ConfigError && error.message.includes('SLUICE_MODEL_FUNCTIONS'),
    );
  });
});
