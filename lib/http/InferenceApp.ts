import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import {
  BadRequestError,
  HttpError,
  PayloadTooLargeError,
  ServiceUnavailableError,
} from '../errors/HttpError.js';
import { ModelNotFoundError } from '../errors/registry-errors.js';
import type { InferenceEngine } from '../inference/InferenceEngine.js';
import type { LoadedModel } from '../inference/LoadedModel.js';
import { NO_METRICS, type ServingMetrics } from '../observability/ServingMetrics.js';
import { MODEL_NAME_PATTERN, type ModelManifest, type TensorSpec } from '../registry/ModelManifest.js';
import type { ModelRegistry } from '../registry/ModelRegistry.js';
import { DATATYPE_BY_ORT_TYPE, type OrtTensorType } from '../tensor/datatypes.js';
import { decodeRows, decodeTensor } from '../tensor/decode-tensor.js';
import { encodeTensorJson, stringifyJson, tensorToNested } from '../tensor/encode-tensor.js';
import { parseJson } from '../tensor/parse-json.js';
import { ResponseHeader } from './headers.js';
import { describeIssues, InferRequestSchema, PredictRequestSchema } from './infer-request.js';
import { MAX_REQUEST_BYTES } from './limits.js';
import type { ModelResolver } from './ModelResolver.js';
import { toPredictions } from './predictions.js';
import { errorResult, jsonResult } from './proxy-result.js';
import { resourcePath } from './resource-path.js';
import { type MatchedRoute, matchRoute, Operation } from './routes.js';

/** The V2 platform name of every model sluice serves. */
export const ONNX_PLATFORM = 'onnx_onnxv1';

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
}

/** Per-request facts gathered while handling, for headers, metrics and the log line. */
interface RequestState {
  readonly requestId: string;
  model?: string;
  version?: number;
  predictions: number;
  invalidOutputs: number;
  outputMeans: Record<string, number>;
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

  constructor(options: InferenceAppOptions) {
    this.engine = options.engine;
    this.resolver = options.resolver;
    this.registry = options.registry;
    this.metrics = options.metrics ?? NO_METRICS;
    this.logger = options.logger;
    this.serverVersion = options.serverVersion ?? '0.0.0';
    this.logRequests = options.logRequests ?? false;
  }

  /** Answers one API Gateway proxy event; never throws, never leaks a stack trace. */
  async handle(event: APIGatewayProxyEvent, requestId?: string): Promise<APIGatewayProxyResult> {
    const started = performance.now();
    const state: RequestState = {
      requestId: requestId ?? event.requestContext?.requestId ?? randomUUID(),
      predictions: 0,
      invalidOutputs: 0,
      outputMeans: {},
    };
    let result: APIGatewayProxyResult;
    let route: MatchedRoute | undefined;
    try {
      route = matchRoute(event.httpMethod, resourcePath(event));
      result = await this.dispatch(route, event, state);
    } catch (error) {
      result = errorResult(error);
      if (!(error instanceof HttpError) || error.status >= 500) {
        this.logger?.error('request failed', {
          requestId: state.requestId,
          model: state.model,
          version: state.version,
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
      this.metrics.recordInference({
        model: state.model,
        version: state.version,
        status: result.statusCode,
        latencyMs,
        predictions: state.predictions,
        invalidOutputs: state.invalidOutputs,
        outputMeans: state.outputMeans,
      });
      this.resolver.served?.(state.model, state.version, {
        status: result.statusCode,
        latencyMs,
        routed: route.version === undefined,
      });
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

  private async dispatch(
    route: MatchedRoute,
    event: APIGatewayProxyEvent,
    state: RequestState,
  ): Promise<APIGatewayProxyResult> {
    switch (route.operation) {
      case Operation.SERVER_METADATA:
        return jsonResult(
          200,
          JSON.stringify({ name: 'sluice', version: this.serverVersion, extensions: [] }),
        );
      case Operation.SERVER_LIVE:
        return jsonResult(200, '{"live":true}');
      case Operation.SERVER_READY: {
        const ready = await this.resolver.ready().catch(() => false);
        return ready
          ? jsonResult(200, '{"ready":true}')
          : jsonResult(
              503,
              '{"error":"not ready: the model store or the served models cannot be reached","ready":false}',
            );
      }
      case Operation.MODEL_METADATA:
        return this.metadata(route, state);
      case Operation.MODEL_READY: {
        await this.load(route, state);
        return jsonResult(
          200,
          JSON.stringify({ name: state.model, version: String(state.version), ready: true }),
        );
      }
      case Operation.MODEL_INFER:
        return this.infer(route, event, state);
      case Operation.SIMPLE_PREDICT:
        return this.predict(route, event, state);
    }
  }

  /** The model and version a route names; neither is recorded in `state` until it is known to exist. */
  private async resolveVersion(
    route: MatchedRoute,
    state: RequestState,
  ): Promise<{ model: string; version: number }> {
    const model = route.model ?? '';
    if (!MODEL_NAME_PATTERN.test(model)) throw new ModelNotFoundError(model);
    const servedVersion = await fromStore(
      this.resolver.resolve(model, { explicitVersion: route.version !== undefined }),
      `model "${model}"`,
    );
    state.model = model;
    return { model, version: route.version ?? servedVersion };
  }

  private async load(route: MatchedRoute, state: RequestState): Promise<LoadedModel> {
    const { model, version } = await this.resolveVersion(route, state);
    // A version the alias routed to exists (the alias only routes published versions), so whatever its answer,
    // a 503 because it cannot load included, it counts against it in metrics and health: a candidate that cannot
    // load must fail its rollout. A version named in the path is recorded only once it loaded, so probing
    // `/versions/99999` cannot create metric series.
    if (route.version === undefined) state.version = version;
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
        inputs: manifest.inputs,
        outputs: manifest.outputs,
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

  private async infer(
    route: MatchedRoute,
    event: APIGatewayProxyEvent,
    state: RequestState,
  ): Promise<APIGatewayProxyResult> {
    const loaded = await this.load(route, state);
    const parsed = InferRequestSchema.safeParse(parseJson(readBody(event)));
    if (!parsed.success)
      throw new BadRequestError(`invalid inference request: ${describeIssues(parsed.error)}`);
    const request = parsed.data;
    const { manifest, session } = loaded;
    const provided = new Map<string, (typeof request.inputs)[number]>();
    for (const tensor of request.inputs) {
      if (provided.has(tensor.name))
        throw new BadRequestError(`input "${tensor.name}" is given more than once`);
      provided.set(tensor.name, tensor);
    }
    const feeds = collectFeeds(manifest, provided, (tensor, spec) => decodeTensor(tensor, spec));
    const fetches = selectOutputs(
      manifest,
      request.outputs?.map((output) => output.name),
    );
    const results = await run(session, feeds, fetches, manifest);
    state.predictions = firstDim(feeds, manifest);
    summarise(results, fetches, state);
    let body = `{"model_name":${JSON.stringify(manifest.name)},"model_version":"${manifest.version}"`;
    if (request.id !== undefined) body += `,"id":${JSON.stringify(request.id)}`;
    body += ',"outputs":[';
    for (let index = 0; index < fetches.length; index++) {
      const name = fetches[index] as string;
      if (index > 0) body += ',';
      body += encodeTensorJson(name, results[name] as Tensor);
    }
    body += ']}';
    return jsonResult(200, body);
  }

  private async predict(
    route: MatchedRoute,
    event: APIGatewayProxyEvent,
    state: RequestState,
  ): Promise<APIGatewayProxyResult> {
    const loaded = await this.load(route, state);
    const parsed = PredictRequestSchema.safeParse(parseJson(readBody(event)));
    if (!parsed.success)
      throw new BadRequestError(`invalid predict request: ${describeIssues(parsed.error)}`);
    const { manifest, session } = loaded;
    const provided = new Map<string, unknown>();
    if (parsed.data.instances !== undefined) {
      if (manifest.inputs.length !== 1) {
        const names = manifest.inputs.map((spec) => spec.name).join(', ');
        throw new BadRequestError(
          `"instances" works for single-input models; this one has inputs ${names}: send {"inputs": {name: nested array}}`,
        );
      }
      provided.set((manifest.inputs[0] as TensorSpec).name, parsed.data.instances);
    } else {
      for (const [name, value] of Object.entries(parsed.data.inputs ?? {})) provided.set(name, value);
    }
    const feeds = collectFeeds(manifest, provided, (rows, spec) => decodeRows(spec.name, rows, spec));
    const fetches = selectOutputs(manifest, undefined);
    const results = await run(session, feeds, fetches, manifest);
    const rows = firstDim(feeds, manifest);
    state.predictions = rows;
    summarise(results, fetches, state);
    const outputs = fetches.map((name) => {
      const tensor = results[name] as Tensor;
      return {
        name,
        datatype: DATATYPE_BY_ORT_TYPE[tensor.type as OrtTensorType],
        shape: tensor.dims,
        nested: tensorToNested(tensor),
      };
    });
    return jsonResult(
      200,
      stringifyJson({
        model: manifest.name,
        version: manifest.version,
        predictions: toPredictions(outputs, rows, manifest.labels),
      }),
    );
  }
}

/**
 * Awaits a registry lookup. A failure of the store itself (unreachable, throttled, access denied) is a 503,
 * as the engine answers for loads; sluice's own errors (unknown model or version) keep their status.
 */
async function fromStore<T>(lookup: Promise<T>, what: string): Promise<T> {
  try {
    return await lookup;
  } catch (error) {
    if (error instanceof HttpError) throw error;
    const reason = error instanceof Error ? error.message || error.name : String(error);
    throw new ServiceUnavailableError(`${what} cannot be looked up in the model store: ${reason}`, {
      cause: error,
    });
  }
}

function isInference(route: MatchedRoute): boolean {
  return route.operation === Operation.MODEL_INFER || route.operation === Operation.SIMPLE_PREDICT;
}

/** Reads the body as text, refusing it when absent or over the limit. */
function readBody(event: APIGatewayProxyEvent): string {
  const raw = event.body;
  if (raw === null || raw === undefined || raw === '')
    throw new BadRequestError('request body is required: a JSON object');
  if (raw.length > MAX_REQUEST_BYTES * (event.isBase64Encoded ? 4 / 3 : 1) + 4) throw tooLarge();
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  // Byte length is only worth measuring when the character count is close to the limit.
  if (text.length * 3 > MAX_REQUEST_BYTES && Buffer.byteLength(text, 'utf8') > MAX_REQUEST_BYTES)
    throw tooLarge();
  return text;
}

function tooLarge(): PayloadTooLargeError {
  return new PayloadTooLargeError(`request body is larger than ${MAX_REQUEST_BYTES} bytes`);
}

/** Builds the feeds from named request values, refusing missing, unknown and misnamed inputs. */
function collectFeeds<T>(
  manifest: ModelManifest,
  provided: Map<string, T>,
  decode: (value: T, spec: TensorSpec) => Tensor,
): Record<string, Tensor> {
  const expected = manifest.inputs.map((spec) => spec.name);
  for (const name of provided.keys()) {
    if (!expected.includes(name)) {
      throw new BadRequestError(
        `unknown input "${name}"; model "${manifest.name}" takes ${quoteList(expected)}`,
      );
    }
  }
  const feeds: Record<string, Tensor> = {};
  for (const spec of manifest.inputs) {
    const value = provided.get(spec.name);
    if (value === undefined) {
      throw new BadRequestError(
        `missing input "${spec.name}"; model "${manifest.name}" takes ${quoteList(expected)}`,
      );
    }
    feeds[spec.name] = decode(value, spec);
  }
  return feeds;
}

function selectOutputs(manifest: ModelManifest, requested: string[] | undefined): string[] {
  const available = manifest.outputs.map((spec) => spec.name);
  if (requested === undefined || requested.length === 0) return available;
  for (const name of requested) {
    if (!available.includes(name)) {
      throw new BadRequestError(
        `unknown output "${name}"; model "${manifest.name}" has ${quoteList(available)}`,
      );
    }
  }
  return [...new Set(requested)];
}

async function run(
  session: InferenceSession,
  feeds: Record<string, Tensor>,
  fetches: string[],
  manifest: ModelManifest,
): Promise<InferenceSession.OnnxValueMapType> {
  try {
    return await session.run(feeds, fetches);
  } catch (error) {
    throw new ModelRunError(manifest, error);
  }
}

/** The session failed on input that passed validation: a fault of the model version, reported as 500. */
class ModelRunError extends HttpError {
  constructor(manifest: ModelManifest, cause: unknown) {
    super(500, `model "${manifest.name}" version ${manifest.version} failed to run on this input`, { cause });
  }
}

function firstDim(feeds: Record<string, Tensor>, manifest: ModelManifest): number {
  const first = feeds[(manifest.inputs[0] as TensorSpec).name];
  return first && first.dims.length > 0 ? Number(first.dims[0]) : 1;
}

/** Counts non-finite outputs and takes the mean of each numeric output, for drift and health metrics. */
function summarise(results: InferenceSession.OnnxValueMapType, fetches: string[], state: RequestState): void {
  for (const name of fetches) {
    const tensor = results[name] as Tensor;
    const data = tensor.data;
    if (!(data instanceof Float32Array || data instanceof Float64Array || data instanceof Int32Array))
      continue;
    let sum = 0;
    let finite = 0;
    for (let index = 0; index < data.length; index++) {
      const value = data[index] as number;
      if (Number.isFinite(value)) {
        sum += value;
        finite++;
      } else {
        state.invalidOutputs++;
      }
    }
    if (finite > 0) state.outputMeans[name] = sum / finite;
  }
}

function quoteList(names: readonly string[]): string {
  return names.map((name) => `"${name}"`).join(', ');
}
