import { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { BatchOutcome } from '../core/batch/batch-event.js';
import { corsHeaders } from '../core/contract/cors.js';
import { readHeader } from '../core/contract/headers.js';
import { ChecksumMismatchError } from '../core/errors/model-errors.js';
import { METRICS_SERVICE } from '../core/metrics/metric-names.js';
import { createS3Client } from '../storage/create-s3-client.js';
import { ModelRegistry } from '../storage/ModelRegistry.js';
import { S3ObjectStore } from '../storage/S3ObjectStore.js';
import { S3RequestObjects } from '../storage/S3RequestObjects.js';
import { FixedVersionResolver } from './FixedVersionResolver.js';
import type { FunctionConfig } from './function-config.js';
import type { InferenceApp } from './InferenceApp.js';
import { InferenceEngine } from './InferenceEngine.js';
import { EmfServingMetrics } from './metrics/EmfServingMetrics.js';
import type { ServingMetrics } from './metrics/ServingMetrics.js';
import { ObjectTransfers } from './ObjectTransfers.js';
import { errorResult, withHeaders } from './proxy-result.js';
import type { scoreBatchEvent } from './score-batch-event.js';

/** The Lambda entry and its cold-start work. */
export interface PredictHandler {
  /** The Lambda handler: API Gateway proxy event in, proxy result out. */
  readonly handler: (
    event: APIGatewayProxyEvent,
    context?: Pick<Context, 'awsRequestId'>,
  ) => Promise<APIGatewayProxyResult>;
  /**
   * One batch of a Step Functions Distributed Map run (`sluice batch` on AWS), checked against BatchEventSchema
   * and scored by {@link scoreBatchEvent}.
   */
  readonly batch: (event: unknown) => Promise<BatchOutcome>;
  /** Settles when the configured version has been loaded (or failed to; requests then retry the load). */
  readonly warm: Promise<void>;
  /** The engine, for tests and shutdown. */
  readonly engine: InferenceEngine;
}

/**
 * Wires the predict function: registry, engine, app, metrics and logs from the configuration.
 *
 * Loading starts immediately so that it happens during the Lambda init phase; the configured version is
 * pinned in the cache, and its sha256 must equal both its manifest and the deployed configuration. A shadow build
 * (SLUICE_SHADOW_VERSION) loads and pins its candidate too, with the candidate's sha256, and compares before it
 * answers (the sandbox may freeze once it has).
 *
 * @example
 * export const { handler } = createPredictHandler(readFunctionConfig(process.env));
 */
export function createPredictHandler(
  config: FunctionConfig,
  dependencies: {
    client?: S3Client;
    metrics?: ServingMetrics;
    logger?: Logger;
    serverVersion?: string;
    /** How the request pipeline's modules are loaded (tests make it fail). @default import('./InferenceApp.js') */
    loadPipeline?: () => Promise<typeof import('./InferenceApp.js')>;
  } = {},
): PredictHandler {
  const logger =
    dependencies.logger ??
    new Logger({ serviceName: METRICS_SERVICE, persistentKeys: { model: config.model } });
  const metrics = dependencies.metrics ?? new EmfServingMetrics(undefined, config.functionVersion);
  const client =
    dependencies.client ?? createS3Client({ region: config.region, endpoint: config.s3Endpoint });
  const store = new S3ObjectStore({ client, bucket: config.bucket });
  const registry = new ModelRegistry({ store });
  // Tensors sent by reference live in the same bucket, under requests/MODEL/ (the function may touch its own only).
  const objects = new ObjectTransfers({
    store: new S3RequestObjects({ client, bucket: config.bucket }),
    urlSeconds: config.objectUrlSeconds,
  });
  let coldStart = true;
  const engine = new InferenceEngine({
    budgetBytes: config.cacheBytes,
    registry: {
      fetchModel: async (model, version) => {
        const fetched = await registry.fetchModel(model, version);
        const pinned =
          model !== config.model
            ? undefined
            : version === config.version
              ? config.sha256
              : version === config.shadow?.version
                ? config.shadow.sha256
                : undefined;
        if (pinned !== undefined && fetched.manifest.sha256 !== pinned) {
          throw new ChecksumMismatchError(model, version, pinned, fetched.manifest.sha256);
        }
        return fetched;
      },
    },
    onLoad: ({ model, version, loadMs, sizeBytes, memoryBytes }) => {
      metrics.recordModelLoad(model, version, loadMs, coldStart);
      logger.info('model loaded', {
        version,
        loadedModel: model,
        loadMs: Math.round(loadMs),
        sizeBytes,
        memoryBytes,
        coldStart,
      });
      coldStart = false;
    },
  });
  engine.pin(config.model, config.version);
  // A shadow build holds both versions: the candidate runs on every request it gets.
  if (config.shadow) engine.pin(config.model, config.shadow.version);
  const resolver = new FixedVersionResolver({
    model: config.model,
    version: config.version,
    registry,
    isReady: async () => {
      await engine.get(config.model, config.version);
      return true;
    },
    ...(config.shadow
      ? {
          shadow: {
            candidate: config.shadow.version,
            numericTolerance: config.shadow.numericTolerance,
          },
        }
      : {}),
  });
  const loads = [config.version, ...(config.shadow ? [config.shadow.version] : [])].map((version) =>
    engine.get(config.model, version),
  );
  // The request pipeline's modules (InferenceApp and the codecs, schemas and metrics only it imports: 29 ms of a cold
  // start, bundled and measured alone) are evaluated once the model's requests are out, while its bytes are on their
  // way, instead of before the first request goes (after onnxruntime's load, queued the same way by the engine). On
  // loopback it measured no different (246 vs 246 ms, medians of 21 cold starts: the embedded store answers in a few
  // ms); on Lambda the first S3 requests' connection and first byte are the idle time it fills.
  const app: Promise<InferenceApp> = new Promise((resolve) => setImmediate(resolve))
    .then(() => (dependencies.loadPipeline ?? (() => import('./InferenceApp.js')))())
    .then(
      ({ InferenceApp, BigBodyDecoding }) =>
        new InferenceApp({
          engine,
          resolver,
          registry,
          metrics,
          logger,
          logRequests: config.logRequests,
          serverVersion: dependencies.serverVersion,
          shadowBeforeReply: true,
          objects,
          // "For each concurrent request, Lambda provisions a separate instance of your execution environment"
          // (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html): nothing waits behind a big body here,
          // and a worker thread would add its start to the request that needed it.
          bigBodies: BigBodyDecoding.INLINE,
        }),
    );
  const warm = Promise.all([...loads, app]).then(
    () => undefined,
    (error: unknown) =>
      logger.error('cold start load failed; requests will retry', { error: error as Error }),
  );
  // Once loaded, the pipeline is read from here: no await of a settled promise on every request.
  let pipelineLoaded: InferenceApp | undefined;
  app.then(
    (loaded) => {
      pipelineLoaded = loaded;
    },
    () => {},
  );
  // The first requests (and every one, if the pipeline failed to load) wait for it; a 500 says it did not load.
  const handleWhenLoaded = async (
    event: APIGatewayProxyEvent,
    requestId: string | undefined,
  ): Promise<APIGatewayProxyResult> => {
    let pipeline: InferenceApp;
    try {
      pipeline = await app;
    } catch (error) {
      // A module that did not load will not load on a retry: every request says so in the contract's JSON (a
      // 500 whose body tells nothing of internals), not as a Lambda function error.
      logger.error('request failed: the request pipeline did not load', { error: error as Error });
      return errorResult(error);
    }
    return pipeline.handle(event, requestId);
  };
  return {
    // Not an async function: a warm request's promise is the pipeline's own.
    handler: (event, context) => {
      const requestId = event.requestContext?.requestId ?? context?.awsRequestId;
      const result = pipelineLoaded
        ? pipelineLoaded.handle(event, requestId)
        : handleWhenLoaded(event, requestId);
      const cors = config.cors;
      return cors
        ? result.then((answer) => withHeaders(answer, corsHeaders(cors, readHeader(event, 'origin'))))
        : result;
    },
    batch: async (event) => {
      // Batch scoring (its schemas and the result lines) is loaded by the first batch: an HTTP cold start never
      // compiles it (see FUNCTION_BUNDLE_OPTIONS).
      const [{ scoreBatchEvent }, pipeline] = await Promise.all([import('./score-batch-event.js'), app]);
      return scoreBatchEvent(event, { config, engine, pipeline, store });
    },
    warm,
    engine,
  };
}
