import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { SERVED_EXTENSIONS } from '../core/contract/extensions.js';
import { INFERENCE_HEADER_CONTENT_LENGTH, ResponseHeader, readHeader } from '../core/contract/headers.js';
import { toPredictions } from '../core/contract/predictions.js';
import { resourcePath } from '../core/contract/resource-path.js';
import { type MatchedRoute, matchRoute, Operation } from '../core/contract/routes.js';
import { ModelNotFoundError, ModelRunError, VersionNotFoundError } from '../core/errors/model-errors.js';
import { InvalidRequestError, ObjectReferenceError } from '../core/errors/request-errors.js';
import { MODEL_NAME_PATTERN, type ModelManifest } from '../core/manifest/ModelManifest.js';
import { answerClasses, classOutputOf, requestClass } from '../core/stats/answer-classes.js';
import { DriftTallies } from '../core/stats/drift.js';
import { binnedValues, histogramBaseline } from '../core/stats/value-histogram.js';
import { decodeBinaryTensor, rawBinaryShape } from '../core/tensor/binary-tensor.js';
import { outputDatatype, stringifyJson, tensorToNested } from '../core/tensor/encode-tensor.js';
import type { TensorData } from '../core/tensor/TensorData.js';
import type { TensorSpec } from '../core/tensor/TensorSpec.js';
import type { ModelRegistry } from '../storage/ModelRegistry.js';
import type { InferenceEngine } from './InferenceEngine.js';
import { readInferBody } from './infer-body.js';
import {
  checkJsonOutputsFit,
  checkSize,
  describeOutputs,
  encodeInferResponse,
  ResponseRemedy,
  utf8Length,
} from './infer-response.js';
import {
  decodeJsonFeeds,
  type InferRequestHead,
  type JsonFeeds,
  type JsonFeedsTask,
  JsonForm,
} from './json-feeds.js';
import type { LoadedModel } from './LoadedModel.js';
import type { ModelResolver } from './ModelResolver.js';
import { InferenceStatistics } from './metrics/InferenceStatistics.js';
import { NO_METRICS, type ServingMetrics } from './metrics/ServingMetrics.js';
import type { ObjectOutputMode, ObjectTransfers, ReadInputs } from './ObjectTransfers.js';
import { toOrtTensor } from './onnx-runtime.js';
import { JsonFeedsPool } from './private/JsonFeedsPool.js';
import {
  collectFeeds,
  decodeProvidedInput,
  newFeeds,
  quoteList,
  splitBinaryInputs,
} from './private/request-feeds.js';
import { storeFailure } from './private/store-failure.js';
import { errorResult, jsonResult } from './proxy-result.js';
import { bodyOf, readBodyText } from './request-body.js';
import { type ShadowAssignment, type ShadowRunInput, shadowRun } from './shadow-run.js';

/** Errors in a cause chain written to a failure's log line. */
const MAX_CAUSES_LOGGED = 4;

/** The V2 platform name of every model sluice serves. */
export const ONNX_PLATFORM = 'onnx_onnxv1';

/**
 * Most shadow runs in flight at once. A shadow phase samples a share of requests, so skipping some under load
 * leaves the sample fair enough while keeping the candidate's work from crowding the stable version's.
 */
export const MAX_SHADOW_RUNS_IN_FLIGHT = 4;

/** The logger methods the app uses; Powertools' Logger has them. */
export type AppLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** Options of {@link InferenceApp}. */
export interface InferenceAppOptions {
  /** Loads and caches sessions. */
  readonly engine: InferenceEngine;
  /** Which models are served here and which version answers the unversioned routes. */
  readonly resolver: ModelResolver;
  /** Reads manifests for metadata routes. */
  readonly registry: Pick<ModelRegistry, 'getManifest'>;
  /** @default NO_METRICS */
  readonly metrics?: ServingMetrics;
  /** @default no logging */
  readonly logger?: AppLogger;
  /** Version reported by `GET /v2`. @default '0.0.0' */
  readonly serverVersion?: string;
  /** Log one line per successful request at INFO (no payloads); refusals and errors are always logged. @default false */
  readonly logRequests?: boolean;
  /** Figures for `GET /v2/models/{m}/stats`. @default a new InferenceStatistics */
  readonly statistics?: InferenceStatistics;
  /**
   * Finish a request's shadow run before answering it. Lambda freezes the execution environment once the handler
   * has returned and nothing else is pending, so work left running after the reply may never finish
   * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html): a shadow build compares
   * first, and its clients wait for the candidate's run too. The local stack answers first. @default false
   */
  readonly shadowBeforeReply?: boolean;
  /** Where answers are tallied for drift, per output (the local stack shares its own with `sluice status`). @default new */
  readonly drift?: DriftTallies;
  /**
   * Where big JSON bodies (`OFF_THREAD_BODY_CHARS` or more) are parsed and decoded into tensors: `'workers'` on a
   * small pool of worker threads, so that a process answering many requests at once (the local stack) keeps
   * answering others while they parse; `'inline'` on the request's own thread, as the Lambda function does: an
   * execution environment handles one request at a time, so a worker would only add its start-up. Smaller bodies
   * are always decoded in line. @default 'workers'
   */
  readonly bigBodies?: BigBodyDecoding;
  /**
   * Tensors sent by reference (`POST /v2/models/{m}/uploads`, `parameters.sluice_object`, outputs by reference):
   * where their objects are read and written. @default none: such requests are refused with a 400
   */
  readonly objects?: ObjectTransfers;
}

/** Where big JSON bodies are decoded (see {@link InferenceAppOptions.bigBodies}). */
export const BigBodyDecoding = {
  WORKERS: 'workers',
  INLINE: 'inline',
} as const;
/** One place big JSON bodies are decoded. */
export type BigBodyDecoding = (typeof BigBodyDecoding)[keyof typeof BigBodyDecoding];

/** Per-request facts gathered while handling, for headers, metrics and the log line. */
interface RequestState {
  readonly requestId: string;
  model?: string;
  version?: number;
  predictions: number;
  invalidOutputs: number;
  /** True when the request waited for its model version to load: its latency is the load's, not the model's. */
  waitedForLoad?: boolean;
  /** `performance.now()` at the end of each inference phase, for the statistics extension. */
  readonly marks: { loaded?: number; decoded?: number; ran?: number; encoded?: number };
  /** The answer's classes, for the class-share gate (unversioned routes only). */
  classes?: Record<string, number>;
  /** The shadow run this request was drawn for, started once the client's answer is ready. */
  shadow?: ShadowRunInput;
  /**
   * What this answer adds to its version's drift tallies, per output: the classes (against those the version gave
   * its reference set) and each numeric output's sampled values per bin (against its reference histogram).
   */
  drift?: readonly DriftCounts[];
}

/** One answer's counts for the drift tally of one output. */
interface DriftCounts {
  readonly output: string;
  readonly kind: 'classes' | 'values';
  readonly baseline: Readonly<Record<string, number>>;
  readonly counts: Readonly<Record<string, number>>;
}

/**
 * The HTTP contract of sluice as one function from API Gateway proxy event to proxy result.
 *
 * The Lambda handler and the local server are thin adapters around it, so both answer exactly alike.
 *
 * @example
 * const app = new InferenceApp({ engine, resolver, registry });
 * const result = await app.handle(event);
 */
export class InferenceApp {
  private readonly engine: InferenceEngine;
  private readonly resolver: ModelResolver;
  private readonly registry: Pick<ModelRegistry, 'getManifest'>;
  private readonly metrics: ServingMetrics;
  private readonly logger: AppLogger | undefined;
  private readonly serverVersion: string;
  private readonly logRequests: boolean;
  private readonly statistics: InferenceStatistics;
  private readonly shadowBeforeReply: boolean;
  /** Shadow runs in flight. */
  private readonly shadowRuns = new Set<Promise<void>>();
  /** Each served version's drift tallies, one per output with a reference baseline. */
  private readonly drift: DriftTallies;
  /** Decodes big JSON bodies off the request thread; absent when they are decoded in line. */
  private readonly jsonFeeds: JsonFeedsPool | undefined;
  /** Tensors sent by reference; absent when this app takes none. */
  private readonly objects: ObjectTransfers | undefined;

  constructor(options: InferenceAppOptions) {
    this.engine = options.engine;
    this.resolver = options.resolver;
    this.registry = options.registry;
    this.metrics = options.metrics ?? NO_METRICS;
    this.logger = options.logger;
    this.serverVersion = options.serverVersion ?? '0.0.0';
    this.logRequests = options.logRequests ?? false;
    this.statistics = options.statistics ?? new InferenceStatistics();
    this.shadowBeforeReply = options.shadowBeforeReply ?? false;
    this.drift = options.drift ?? new DriftTallies();
    this.jsonFeeds =
      (options.bigBodies ?? BigBodyDecoding.WORKERS) === BigBodyDecoding.WORKERS
        ? new JsonFeedsPool()
        : undefined;
    this.objects = options.objects;
  }

  /** Answers one API Gateway proxy event; never throws, never leaks a stack trace. */
  async handle(event: APIGatewayProxyEvent, requestId?: string): Promise<APIGatewayProxyResult> {
    const started = performance.now();
    // Every field in the literal, set or not: the object keeps one shape while the request fills it in.
    const state: RequestState = {
      requestId: requestId ?? event.requestContext?.requestId ?? randomUUID(),
      model: undefined,
      version: undefined,
      predictions: 0,
      invalidOutputs: 0,
      waitedForLoad: false,
      marks: { loaded: undefined, decoded: undefined, ran: undefined, encoded: undefined },
      classes: undefined,
      shadow: undefined,
      drift: undefined,
    };
    let result: APIGatewayProxyResult;
    let route: MatchedRoute | undefined;
    try {
      route = matchRoute(event.httpMethod, resourcePath(event));
      result = await this.dispatch(route, event, state);
    } catch (error) {
      result = errorResult(error);
      if (result.statusCode >= 500) {
        // The model's own message (onnxruntime's) is the cause: kept in the log, never in the response.
        this.logger?.error('request failed', {
          requestId: state.requestId,
          model: state.model,
          version: state.version,
          reason: describeChain(error),
          error: error as Error,
        });
      }
    }
    const headers = result.headers ?? {};
    result.headers = headers;
    headers[ResponseHeader.REQUEST_ID] = state.requestId;
    if (state.model !== undefined) headers[ResponseHeader.MODEL] = state.model;
    if (state.version !== undefined) headers[ResponseHeader.MODEL_VERSION] = String(state.version);
    const latencyMs = performance.now() - started;
    if (route && isInference(route) && state.model !== undefined && state.version !== undefined) {
      const answered = state.classes && result.statusCode < 400 ? requestClass(state.classes) : undefined;
      const routed = route.version === undefined;
      const waitedForLoad = state.waitedForLoad === true;
      this.metrics.recordInference({
        model: state.model,
        version: state.version,
        status: result.statusCode,
        latencyMs,
        predictions: state.predictions,
        invalidOutputs: state.invalidOutputs,
        routed,
        waitedForLoad,
        answeredClass: answered,
      });
      this.resolver.served?.(state.model, state.version, {
        status: result.statusCode,
        latencyMs,
        routed,
        invalidOutputs: state.invalidOutputs,
        waitedForLoad,
        answeredClass: answered,
      });
      this.recordStatistics(state, result.statusCode, started, latencyMs);
      if (result.statusCode < 400) this.tallyDrift(state);
      const shadow =
        state.shadow && result.statusCode < 400 ? this.startShadow(state.shadow, state.requestId) : undefined;
      if (shadow && this.shadowBeforeReply) await shadow;
    }
    // Successful requests are logged only on request (API Gateway access logs cover them); refusals always,
    // without the payload, so a client's bad request can be found by its request id.
    if (this.logRequests || (result.statusCode >= 400 && result.statusCode < 500)) {
      this.logger?.info(result.statusCode < 400 ? 'request served' : 'request refused', {
        requestId: state.requestId,
        method: event.httpMethod,
        path: event.path,
        status: result.statusCode,
        model: state.model,
        version: state.version,
        latencyMs: Math.round(latencyMs * 1000) / 1000,
      });
    }
    return result;
  }

  /**
   * The operation's answer. Not an async function: an inference route's promise is its handler's own, with no
   * frame around it (each is a promise and a microtask on every request).
   */
  private dispatch(
    route: MatchedRoute,
    event: APIGatewayProxyEvent,
    state: RequestState,
  ): Promise<APIGatewayProxyResult> {
    switch (route.operation) {
      case Operation.MODEL_INFER:
        return this.infer(route, event, state);
      case Operation.SIMPLE_PREDICT:
        return this.predict(route, event, state);
      case Operation.SERVER_METADATA:
        return Promise.resolve(
          jsonResult(
            200,
            JSON.stringify({ name: 'sluice', version: this.serverVersion, extensions: SERVED_EXTENSIONS }),
          ),
        );
      case Operation.SERVER_LIVE:
        return Promise.resolve(jsonResult(200, '{"live":true}'));
      case Operation.SERVER_READY:
        return this.serverReady();
      case Operation.MODEL_METADATA:
        return this.metadata(route, state);
      case Operation.MODEL_READY:
        return this.modelReady(route, state);
      case Operation.MODEL_STATS:
        return this.stats(route, state);
      case Operation.MODEL_UPLOADS:
        return this.uploads(route, event, state);
      case Operation.OPENAPI:
        return this.openApiOfAll(event);
      case Operation.MODEL_OPENAPI:
        return this.openApiOfModel(route, event, state);
    }
  }

  private async serverReady(): Promise<APIGatewayProxyResult> {
    const ready = await this.resolver.ready().catch(() => false);
    return ready
      ? jsonResult(200, '{"ready":true}')
      : jsonResult(
          503,
          '{"error":"not ready: the model store or the served models cannot be reached","ready":false}',
        );
  }

  private async modelReady(route: MatchedRoute, state: RequestState): Promise<APIGatewayProxyResult> {
    await this.load(route, state);
    return jsonResult(
      200,
      JSON.stringify({ name: state.model, version: String(state.version), ready: true }),
    );
  }

  private async openApiOfAll(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    return this.openApi(await fromStore(this.resolver.models(), 'the served models'), event);
  }

  private async openApiOfModel(
    route: MatchedRoute,
    event: APIGatewayProxyEvent,
    state: RequestState,
  ): Promise<APIGatewayProxyResult> {
    const { model } = await this.resolveVersion({ ...route, version: undefined }, state);
    return this.openApi([model], event);
  }

  /**
   * The OpenAPI document of `models`, each with the signature of the version that answers them (named, so routing
   * draws nothing), with the base URL the request came through (the stage or a custom domain's base path).
   */
  private async openApi(
    models: readonly string[],
    event: APIGatewayProxyEvent,
  ): Promise<APIGatewayProxyResult> {
    const documented = await Promise.all(
      models.map(async (model) => {
        const version = await fromStore(
          this.resolver.resolve(model, { explicitVersion: true }),
          `model "${model}"`,
        );
        const manifest =
          this.engine.peek(model, version)?.manifest ??
          (await fromStore(this.registry.getManifest(model, version), `model "${model}" version ${version}`));
        const versions = await fromStore(this.resolver.versions(model), `model "${model}"`);
        return { name: model, manifest, versions };
      }),
    );
    // Loaded by the first request for it: its response schemas are no part of a cold start's first answer.
    const { openApiDocument } = await import('../core/contract/openapi-document.js');
    const document = openApiDocument({
      models: documented,
      serverVersion: this.serverVersion,
      serverUrl: basePath(event) || '/',
    });
    return jsonResult(200, JSON.stringify(document));
  }

  /** The model and version a route names; neither is recorded in `state` until it is known to exist. */
  private async resolveVersion(
    route: MatchedRoute,
    state: RequestState,
    servedNow?: number,
  ): Promise<{ model: string; version: number }> {
    const model = route.model ?? '';
    if (!MODEL_NAME_PATTERN.test(model)) throw new ModelNotFoundError(model);
    const servedVersion =
      servedNow ??
      (await fromStore(
        this.resolver.resolve(model, { explicitVersion: route.version !== undefined }),
        `model "${model}"`,
      ));
    state.model = model;
    return { model, version: route.version ?? servedVersion };
  }

  /**
   * The route's model, when the resolver knows its version from memory and that version is loaded: the request
   * goes on with no await before its run (what nearly every request of a warm process is). Otherwise
   * {@link load}, given the version the resolver drew, if it drew one, so a routed request draws once.
   */
  private loadAtOnce(route: MatchedRoute, state: RequestState): LoadedModel | Promise<LoadedModel> {
    const model = route.model ?? '';
    const served = this.resolver.resolveNow?.(model, { explicitVersion: route.version !== undefined });
    if (served === undefined) return this.load(route, state);
    const version = route.version ?? served;
    const loaded = this.engine.useLoaded(model, version);
    if (loaded === undefined) return this.load(route, state, served);
    state.model = model;
    state.version = version;
    return loaded;
  }

  private async load(route: MatchedRoute, state: RequestState, servedNow?: number): Promise<LoadedModel> {
    const { model, version } = await this.resolveVersion(route, state, servedNow);
    // A version the alias routed to exists (the alias only routes published versions), so whatever its answer,
    // a 503 because it cannot load included, it counts against it in metrics and health: a candidate that cannot
    // load must fail its rollout. A version named in the path is recorded only once it loaded, so probing
    // `/versions/99999` cannot create metric series.
    if (route.version === undefined) state.version = version;
    // A request that waits for a load is counted, but its latency is the load's: the latency gate never judges it.
    if (this.engine.peek(model, version) === undefined) state.waitedForLoad = true;
    const loaded = await this.engine.get(model, version);
    state.version = version;
    return loaded;
  }

  private async metadata(route: MatchedRoute, state: RequestState): Promise<APIGatewayProxyResult> {
    const { model, version } = await this.resolveVersion(route, state);
    const manifest =
      this.engine.peek(model, version)?.manifest ??
      (await fromStore(this.registry.getManifest(model, version), `model "${model}" version ${version}`));
    state.version = version;
    const versions = await fromStore(this.resolver.versions(model), `model "${model}"`);
    return jsonResult(
      200,
      JSON.stringify({
        name: manifest.name,
        versions: versions.map(String),
        platform: ONNX_PLATFORM,
        inputs: manifest.inputs.map(v2TensorMetadata),
        outputs: manifest.outputs.map(v2TensorMetadata),
        sluice: {
          version: String(manifest.version),
          sha256: manifest.sha256,
          size: manifest.size,
          createdAt: manifest.createdAt,
          labels: manifest.labels,
          description: manifest.description,
          goldenExamples: manifest.goldenExamples?.length ?? 0,
        },
      }),
    );
  }

  private async stats(route: MatchedRoute, state: RequestState): Promise<APIGatewayProxyResult> {
    const { model, version } = await this.resolveVersion(route, state);
    const versions = await fromStore(this.resolver.versions(model), `model "${model}"`);
    if (!versions.includes(version)) throw new VersionNotFoundError(model, version);
    state.version = version;
    const shown =
      route.version === undefined
        ? [...this.statistics.versionsOf(model).filter((seen) => versions.includes(seen)), version]
        : [version];
    return jsonResult(200, JSON.stringify(this.statistics.report(model, shown)));
  }

  private async infer(
    route: MatchedRoute,
    event: APIGatewayProxyEvent,
    state: RequestState,
  ): Promise<APIGatewayProxyResult> {
    const atOnce = this.loadAtOnce(route, state);
    const loaded = atOnce instanceof Promise ? await atOnce : atOnce;
    state.marks.loaded = performance.now();
    const body = readInferBody(event);
    const { manifest, session } = loaded;
    let request: InferRequestHead | undefined;
    let feeds: Record<string, TensorData>;
    if (body.kind === 'json') {
      const json = this.decodeJson(JsonForm.INFER, event, manifest);
      ({ request, feeds } = json instanceof Promise ? await json : json);
    } else if (body.kind === 'raw') {
      feeds = rawFeeds(manifest, body.bytes);
    } else {
      request = body.request;
      const provided = splitBinaryInputs(body.request.inputs, body.binary);
      feeds = collectFeeds(manifest, provided, decodeProvidedInput);
    }
    // Inputs sent by reference are read into the tensors decoding made for them.
    const read =
      request && sendsObjects(request) ? await this.readObjects(manifest, request, feeds) : undefined;
    state.marks.decoded = performance.now();
    const fetches = selectOutputs(
      manifest,
      request?.outputs?.map((output) => output.name),
    );
    const tensors = ortFeeds(feeds);
    const results = await this.run(session, tensors, fetches, manifest);
    state.marks.ran = performance.now();
    state.predictions = firstDim(feeds, manifest);
    summarise(results, fetches, state);
    if (this.observe(route, state, manifest, results))
      await this.drawShadow(state, manifest, tensors, fetches, results);
    const allBinary = request?.parameters?.binary_data_output ?? false;
    const named = request?.outputs;
    const binaryOf = (name: string): boolean =>
      named?.find((output) => output.name === name)?.parameters?.binary_data ?? allBinary;
    const head = { modelName: manifest.name, modelVersion: manifest.version, id: request?.id };
    const outputs = fetches.map((name) => ({
      name,
      tensor: results[name] as Tensor,
      binary: named === undefined ? allBinary : binaryOf(name),
    }));
    // A raw body has no JSON to ask for binary or fewer outputs in.
    const remedy = body.kind === 'raw' ? ResponseRemedy.RAW_BODY : ResponseRemedy.V2;
    const modes = request ? objectOutputModes(request, fetches) : undefined;
    const result = modes
      ? await this.requireObjects().respond(
          head,
          outputs.map((output) => ({ ...output, mode: modes.get(output.name) ?? false })),
          remedy,
        )
      : encodeInferResponse(head, outputs, remedy);
    state.marks.encoded = performance.now();
    if (read) await this.deleteObjects(read, state);
    return result;
  }

  /**
   * `POST /v2/models/{m}[/versions/{v}]/uploads`: a presigned PUT per input the body names, checked against the
   * signature of the version the route names (or the alias serves); see {@link ObjectTransfers.tickets}.
   */
  private async uploads(
    route: MatchedRoute,
    event: APIGatewayProxyEvent,
    state: RequestState,
  ): Promise<APIGatewayProxyResult> {
    const { model, version } = await this.resolveVersion(route, state);
    const manifest =
      this.engine.peek(model, version)?.manifest ??
      (await fromStore(this.registry.getManifest(model, version), `model "${model}" version ${version}`));
    state.version = version;
    const tickets = await this.requireObjects().tickets(manifest, readBodyText(event));
    return jsonResult(200, JSON.stringify(tickets));
  }

  /** Reads the inputs a V2 request sends by reference (see {@link sendsObjects}) into their feeds. */
  private readObjects(
    manifest: ModelManifest,
    request: InferRequestHead,
    feeds: Record<string, TensorData>,
  ): Promise<ReadInputs> {
    return this.requireObjects().readInputs(manifest.name, request.inputs, feeds);
  }

  /**
   * Deletes the input objects of a request that was answered, so the same reference is refused until someone
   * uploads to it again (its upload URL works until it expires). A failed delete does not fail the answer: it is
   * logged, and the lifecycle rule on `requests/` removes the object (see REQUEST_OBJECT_EXPIRY_DAYS).
   * A request that fails before this point (bad input, a model failure, an answer too large) deletes nothing: its
   * objects can be named again until they expire.
   */
  private async deleteObjects(read: ReadInputs, state: RequestState): Promise<void> {
    try {
      await this.requireObjects().deleteInputs(read);
    } catch (error) {
      this.logger?.warn(
        'could not delete the input objects of an answered request; they expire by lifecycle',
        {
          requestId: state.requestId,
          model: state.model,
          reason: describeChain(error),
        },
      );
    }
  }

  private requireObjects(): ObjectTransfers {
    if (!this.objects) {
      throw new ObjectReferenceError(
        'this server takes no tensors by reference (parameters.sluice_object, POST /v2/models/{m}/uploads): send the values as JSON data or binary data',
      );
    }
    return this.objects;
  }

  private async predict(
    route: MatchedRoute,
    event: APIGatewayProxyEvent,
    state: RequestState,
  ): Promise<APIGatewayProxyResult> {
    const atOnce = this.loadAtOnce(route, state);
    const loaded = atOnce instanceof Promise ? await atOnce : atOnce;
    state.marks.loaded = performance.now();
    if (readHeader(event, INFERENCE_HEADER_CONTENT_LENGTH) !== undefined) {
      throw new InvalidRequestError(
        `the simple form takes JSON only; send binary tensors (${INFERENCE_HEADER_CONTENT_LENGTH}) to POST /v2/models/${route.model}/infer`,
      );
    }
    const { manifest, session } = loaded;
    const json = this.decodeJson(JsonForm.PREDICT, event, manifest);
    const { feeds } = json instanceof Promise ? await json : json;
    state.marks.decoded = performance.now();
    const fetches = selectOutputs(manifest, undefined);
    const inputTensors = ortFeeds(feeds);
    const results = await this.run(session, inputTensors, fetches, manifest);
    state.marks.ran = performance.now();
    const rows = firstDim(feeds, manifest);
    state.predictions = rows;
    summarise(results, fetches, state);
    if (this.observe(route, state, manifest, results))
      await this.drawShadow(state, manifest, inputTensors, fetches, results);
    const tensors = fetches.map((name) => ({ name, tensor: results[name] as Tensor }));
    checkJsonOutputsFit(tensors, ResponseRemedy.SIMPLE_FORM);
    const batchDim = manifest.inputs[0]?.shape[0];
    const outputs = tensors.map(({ name, tensor }) => ({
      name,
      datatype: outputDatatype(tensor),
      shape: tensor.dims,
      // One entry per row only where the manifest says the output's first dimension is the batch dimension.
      batched:
        batchDim !== undefined && manifest.outputs.find((spec) => spec.name === name)?.shape[0] === batchDim,
      nested: tensorToNested(tensor),
    }));
    const body = stringifyJson({
      model: manifest.name,
      version: manifest.version,
      predictions: toPredictions(outputs, rows, manifest.labels),
    });
    checkSize(() => describeOutputs(tensors), utf8Length(body), ResponseRemedy.SIMPLE_FORM);
    state.marks.encoded = performance.now();
    return jsonResult(200, body);
  }

  /**
   * Reads, parses and decodes a JSON body into feeds (`decodeJsonFeeds`): on the pool's workers when it is big and
   * there is a pool (a promise), on this thread otherwise (at once, with no promise on the request's path).
   */
  private decodeJson(
    form: JsonForm,
    event: APIGatewayProxyEvent,
    manifest: ModelManifest,
  ): DecodedJson | Promise<DecodedJson> {
    const task: JsonFeedsTask = {
      form,
      body: bodyOf(event),
      model: { name: manifest.name, inputs: manifest.inputs },
    };
    return this.jsonFeeds?.takes(task)
      ? this.jsonFeeds.decode(task).then(withFeedRecord)
      : withFeedRecord(decodeJsonFeeds(task));
  }

  /**
   * Resolves once `count` request bodies are being decoded off the request thread at once (waiting for a worker or
   * on one): what a test awaits before it checks that the stack still answers meanwhile.
   */
  whenDecodingOffThread(count: number): Promise<void> {
    if (!this.jsonFeeds)
      throw new Error('this app decodes every body on the request thread (bigBodies: inline)');
    return this.jsonFeeds.whenInFlight(count);
  }

  /** Adds an answer to its version's drift tallies, one per output; a full window's figure goes to the metrics. */
  private tallyDrift(state: RequestState): void {
    const { model, version, drift } = state;
    if (model === undefined || version === undefined || !drift) return;
    for (const { output, kind, baseline, counts } of drift) {
      const psi = this.drift.add(model, version, output, baseline, counts, kind);
      if (psi !== undefined) this.metrics.recordDrift?.(model, version, output, psi);
    }
  }

  /** Stops the threads that decode big bodies (a body still waiting for one is refused); requests after it decode in line. */
  async close(): Promise<void> {
    await this.jsonFeeds?.close();
  }

  /**
   * Resolves once every shadow run started so far has been compared and recorded: what a test awaits before it
   * judges the shadow phase (runs are off the client's path, so a reply comes before its comparison).
   */
  async shadowsSettled(): Promise<void> {
    while (this.shadowRuns.size > 0) await Promise.all([...this.shadowRuns]);
  }

  /**
   * Runs the shadow candidate on a request already answered, detached from it: the client neither waits for the
   * candidate (a cold load, a slow run) nor sees its failure, and the stable version's latency is its own. At most
   * {@link MAX_SHADOW_RUNS_IN_FLIGHT} run at once; a request drawn beyond that is not shadowed (its draw is lost,
   * not queued, and counted as skipped), so a slow candidate cannot pile work onto the stable version's process.
   */
  private startShadow(input: ShadowRunInput, requestId: string): Promise<void> | undefined {
    if (this.shadowRuns.size >= MAX_SHADOW_RUNS_IN_FLIGHT) {
      this.metrics.recordShadowSkipped?.(input.manifest.name, input.shadow.candidate);
      return undefined;
    }
    const run = shadowRun(input)
      .then((comparison) => {
        this.resolver.compared?.(input.manifest.name, input.shadow.candidate, comparison);
        this.metrics.recordComparison?.(input.manifest.name, input.shadow.candidate, comparison);
      })
      .catch((error: unknown) => {
        this.logger?.warn('shadow comparison failed', {
          requestId,
          model: input.manifest.name,
          candidate: input.shadow.candidate,
          reason: describeChain(error),
        });
      })
      .finally(() => this.shadowRuns.delete(run));
    this.shadowRuns.add(run);
    return run;
  }

  /**
   * What the rollout gates need of an answer of an unversioned route: its classes (for the class-share gate) and
   * its drift counts. True when the request may be drawn for the shadow phase ({@link drawShadow}): an unversioned
   * route, and a resolver that draws shadows.
   */
  private observe(
    route: MatchedRoute,
    state: RequestState,
    manifest: ModelManifest,
    results: InferenceSession.OnnxValueMapType,
  ): boolean {
    if (route.version !== undefined) return false;
    // By class index, not label: two versions are compared class for class, whatever labels each was published with.
    // Every routed answer's classes: the class-share gate counts them (the metrics carry them on AWS), and drift.
    state.classes = answerClasses(results as Record<string, Tensor>, manifest.outputs, undefined);
    if (manifest.reference) state.drift = driftCounts(manifest, state.classes, results);
    return this.resolver.shadow !== undefined;
  }

  /**
   * When the alias drew this request for the shadow phase, the run of the candidate on the same tensors, kept for
   * {@link startShadow}. The client's answer is this one whatever the candidate does; a failed draw only loses the
   * shadow.
   */
  private async drawShadow(
    state: RequestState,
    manifest: ModelManifest,
    feeds: Record<string, Tensor>,
    fetches: string[],
    results: InferenceSession.OnnxValueMapType,
  ): Promise<void> {
    let shadow: ShadowAssignment | undefined;
    try {
      shadow = await this.resolver.shadow?.(manifest.name, manifest.version);
    } catch (error) {
      this.logger?.warn('shadow draw failed', { requestId: state.requestId, reason: describeChain(error) });
    }
    if (shadow)
      state.shadow = { engine: this.engine, manifest, feeds, fetches, stableResults: results, shadow };
  }

  /**
   * The model's run on the feeds (its first run measured by the engine): a failure is the model's, a 500 whose
   * cause is onnxruntime's message.
   */
  private async run(
    session: InferenceSession,
    tensors: Record<string, Tensor>,
    fetches: string[],
    manifest: ModelManifest,
  ): Promise<InferenceSession.OnnxValueMapType> {
    try {
      return await this.engine.measureFirstRun(manifest.name, manifest.version, () =>
        session.run(tensors, fetches),
      );
    } catch (error) {
      throw new ModelRunError(
        `model "${manifest.name}" version ${manifest.version} failed to run on this input`,
        { cause: error },
      );
    }
  }

  private recordStatistics(state: RequestState, status: number, started: number, latencyMs: number): void {
    if (state.model === undefined || state.version === undefined) return;
    const { loaded, decoded, ran, encoded } = state.marks;
    this.statistics.record(state.model, state.version, {
      success: status < 400,
      rows: state.predictions,
      totalNs: latencyMs * 1e6,
      queueNs: ns(started, loaded),
      inputNs: ns(loaded, decoded),
      inferNs: ns(decoded, ran),
      outputNs: ns(ran, encoded),
    });
  }
}

/** Nanoseconds between two phase marks; 0 when a phase was not reached. */
function ns(from: number | undefined, to: number | undefined): number {
  return from === undefined || to === undefined ? 0 : (to - from) * 1e6;
}

/** Awaits a registry lookup: a failure of the store itself is a 503 naming `what` (see `storeFailure`). */
function fromStore<T>(lookup: Promise<T>, what: string): Promise<T> {
  return storeFailure(lookup, (reason) => `${what} cannot be looked up in the model store: ${reason}`);
}

/** A tensor as V2 model metadata describes it: name, datatype and shape only. */
function v2TensorMetadata({
  name,
  datatype,
  shape,
}: TensorSpec): Pick<TensorSpec, 'name' | 'datatype' | 'shape'> {
  return { name, datatype, shape };
}

/**
 * The part of the URL in front of the contract's paths: the stage on an API's own endpoint (`/prod`), a custom
 * domain's base path, or nothing (API Gateway gives the whole path in `requestContext.path`, the resource's in `path`).
 */
function basePath(event: APIGatewayProxyEvent): string {
  const whole = event.requestContext?.path ?? event.path;
  return whole.endsWith(event.path) ? whole.slice(0, whole.length - event.path.length) : '';
}

function isInference(route: MatchedRoute): boolean {
  return route.operation === Operation.MODEL_INFER || route.operation === Operation.SIMPLE_PREDICT;
}

/** True when a V2 request sends an input by reference (`parameters.sluice_object`). */
function sendsObjects(request: InferRequestHead): boolean {
  for (const input of request.inputs) if (input.parameters?.sluice_object !== undefined) return true;
  return false;
}

/**
 * How each output of a V2 request travels with respect to objects (per-output `parameters.sluice_object` over the
 * request's `parameters.sluice_object_output`); undefined when the request asks for none by reference.
 */
function objectOutputModes(
  request: InferRequestHead,
  fetches: readonly string[],
): Map<string, ObjectOutputMode> | undefined {
  const all: ObjectOutputMode = request.parameters?.sluice_object_output ?? false;
  // Most requests ask for no object: answered without building the map.
  if (all === false && !request.outputs?.some((output) => output.parameters?.sluice_object !== undefined))
    return undefined;
  const modes = new Map<string, ObjectOutputMode>(fetches.map((name) => [name, all]));
  for (const output of request.outputs ?? []) {
    const own = output.parameters?.sluice_object;
    if (own !== undefined) modes.set(output.name, own);
  }
  return [...modes.values()].some((mode) => mode !== false) ? modes : undefined;
}

/** The feeds of a raw binary body: the whole body is the data of the model's only input. */
function rawFeeds(manifest: ModelManifest, bytes: Uint8Array): Record<string, TensorData> {
  if (manifest.inputs.length !== 1) {
    throw new InvalidRequestError(
      `a raw binary body works for single-input models; model "${manifest.name}" takes ${quoteList(manifest.inputs.map((spec) => spec.name))}: send a JSON header (Inference-Header-Content-Length) with binary_data_size per input`,
    );
  }
  const spec = manifest.inputs[0] as TensorSpec;
  const feeds = newFeeds<TensorData>();
  feeds[spec.name] = decodeBinaryTensor(
    { name: spec.name, datatype: spec.datatype, shape: rawBinaryShape(spec, bytes) },
    bytes,
    spec,
  );
  return feeds;
}

/** An error's message followed by its causes' (onnxruntime's own message is the cause of a model failure). */
function describeChain(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < MAX_CAUSES_LOGGED && current !== undefined && current !== null; depth++) {
    parts.push(current instanceof Error ? current.message || current.name : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ');
}

function selectOutputs(manifest: ModelManifest, requested: string[] | undefined): string[] {
  const available = manifest.outputs.map((spec) => spec.name);
  if (requested === undefined || requested.length === 0) return available;
  for (const name of requested) {
    if (!available.includes(name)) {
      throw new InvalidRequestError(
        `unknown output "${name}"; model "${manifest.name}" has ${quoteList(available)}`,
      );
    }
  }
  return [...new Set(requested)];
}

/** The onnxruntime tensors of decoded feeds (the values are not copied). */
function ortFeeds(feeds: Record<string, TensorData>): Record<string, Tensor> {
  const tensors = newFeeds<Tensor>();
  for (const name of Object.keys(feeds)) tensors[name] = toOrtTensor(feeds[name] as TensorData);
  return tensors;
}

/** A JSON body decoded: its request head (V2) and its feeds by input name. */
interface DecodedJson {
  readonly request: InferRequestHead | undefined;
  readonly feeds: Record<string, TensorData>;
}

/** Decoded feeds as the record the request path reads by input name. */
function withFeedRecord(decoded: JsonFeeds): DecodedJson {
  const feeds = newFeeds<TensorData>();
  for (const [name, tensor] of decoded.feeds) feeds[name] = tensor;
  return { request: decoded.request, feeds };
}

function firstDim(feeds: Record<string, TensorData>, manifest: ModelManifest): number {
  const first = feeds[(manifest.inputs[0] as TensorSpec).name];
  return first && first.dims.length > 0 ? Number(first.dims[0]) : 1;
}

/**
 * Counts the non-finite values (NaN, ±Infinity) of the float outputs, for `InvalidOutputs` and the health gates:
 * FP32 and FP64 by value, FP16 by its bits (exponent all ones: `0x7c00`); integer outputs cannot hold one.
 */
function summarise(results: InferenceSession.OnnxValueMapType, fetches: string[], state: RequestState): void {
  for (const name of fetches) {
    const tensor = results[name] as Tensor;
    const data = tensor.data;
    if (data instanceof Float32Array || data instanceof Float64Array) {
      for (let index = 0; index < data.length; index++) {
        if (!Number.isFinite(data[index] as number)) state.invalidOutputs++;
      }
    } else if (tensor.type === 'float16' && data instanceof Uint16Array) {
      // Always bit patterns: onnx-runtime.ts keeps onnxruntime from seeing Node's Float16Array.
      for (let index = 0; index < data.length; index++) {
        if (((data[index] as number) & FLOAT16_EXPONENT) === FLOAT16_EXPONENT) state.invalidOutputs++;
      }
    }
  }
}

/** The exponent bits of a half: all ones for NaN and the infinities. */
const FLOAT16_EXPONENT = 0x7c00;

/** What an answer adds to the drift tallies of its version's outputs that have a baseline. */
function driftCounts(
  manifest: ModelManifest,
  classes: Readonly<Record<string, number>>,
  results: InferenceSession.OnnxValueMapType,
): DriftCounts[] {
  const counts: DriftCounts[] = [];
  const reference = manifest.reference;
  const classOutput = classOutputOf(manifest.outputs);
  if (reference?.classes && classOutput && Object.keys(classes).length > 0) {
    counts.push({ output: classOutput.name, kind: 'classes', baseline: reference.classes, counts: classes });
  }
  for (const [output, histogram] of Object.entries(reference?.outputs ?? {})) {
    const binned = binnedValues(results[output] as Tensor | undefined, histogram);
    if (Object.keys(binned).length > 0) {
      counts.push({ output, kind: 'values', baseline: histogramBaseline(histogram), counts: binned });
    }
  }
  return counts;
}
