import * as z from 'zod';
import type { ModelManifest } from '../manifest/ModelManifest.js';
import { TensorDatatype } from '../tensor/datatypes.js';
import type { TensorSpec } from '../tensor/TensorSpec.js';
import { ResponseHeader } from './headers.js';
import { InferRequestSchema, PredictRequestSchema, RequestTensorSchema } from './infer-request.js';
import {
  ErrorBodySchema,
  InferResponseSchema,
  ModelMetadataResponseSchema,
  ModelReadyResponseSchema,
  PredictResponseSchema,
  ServerMetadataResponseSchema,
} from './response-schemas.js';

/** The OpenAPI version of the documents sluice writes (JSON Schema draft 2020-12, which zod 4 emits). */
export const OPENAPI_VERSION = '3.1.0';

/** Most values an example input carries: a bigger one (an image) is left out, not cut (a cut one would be refused). */
const MAX_EXAMPLE_VALUES = 4096;

/** A model the document describes: its served version's manifest (real input names, datatypes, shapes) and versions. */
export interface DocumentedModel {
  readonly name: string;
  readonly manifest: ModelManifest;
  readonly versions: readonly number[];
}

/** Options of {@link openApiDocument}. */
export interface OpenApiOptions {
  readonly models: readonly DocumentedModel[];
  /** sluice's version, the document's `info.version`. */
  readonly serverVersion: string;
  /** The base URL clients call (`servers`); absent, the document's paths are relative to where it was read. */
  readonly serverUrl?: string;
}

/** An OpenAPI document (a JSON object). */
export type OpenApiDocument = Record<string, unknown>;

/**
 * The OpenAPI 3.1 document of the HTTP contract, from the zod schemas that validate requests: the server routes, and
 * per model its V2 and simple-form routes with request bodies narrowed to the model's real inputs (each input's
 * name, datatype and rank as constants, the schema otherwise the one requests are checked with), an example body
 * (the first golden example's inputs, or zeros of the signature's shape), and the answers and errors it gives.
 *
 * @example
 * const doc = openApiDocument({ models: [{ name: 'iris', manifest, versions: [1, 2] }], serverVersion: '0.1.0' });
 * JSON.stringify(doc.paths); // ... "/v2/models/iris/infer": { "post": { "requestBody": ... "const": "features" ...
 */
export function openApiDocument(options: OpenApiOptions): OpenApiDocument {
  const paths: Record<string, unknown> = {
    '/v2': { get: operation('Server metadata', 'ServerMetadata', { tag: 'server' }) },
    '/v2/health/live': { get: operation('Server liveness', undefined, { tag: 'server', body: liveSchema }) },
    '/v2/health/ready': {
      get: operation('Server readiness', undefined, { tag: 'server', body: readySchema, unavailable: true }),
    },
  };
  for (const model of options.models) Object.assign(paths, modelPaths(model));
  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: 'sluice',
      version: options.serverVersion,
      description:
        'Open Inference Protocol V2 and the simple predict form, as sluice serves them. Every answer names the ' +
        `model version that served it in the ${ResponseHeader.MODEL_VERSION} header; every error is {"error": "..."}.`,
    },
    ...(options.serverUrl === undefined ? {} : { servers: [{ url: options.serverUrl }] }),
    tags: [
      { name: 'server', description: 'The server as a whole' },
      ...options.models.map((model) => ({
        name: model.name,
        description: model.manifest.description ?? `Model ${model.name}`,
      })),
    ],
    paths,
    components: { schemas: componentSchemas() },
  };
}

/** The routes of one model. */
function modelPaths(model: DocumentedModel): Record<string, unknown> {
  const base = `/v2/models/${encodeURIComponent(model.name)}`;
  const simple = `/models/${encodeURIComponent(model.name)}`;
  const tag = model.name;
  const manifest = model.manifest;
  const infer = inferBody(manifest);
  const predict = predictBody(manifest);
  const versionParameter = {
    name: 'version',
    in: 'path',
    required: true,
    description: 'A published version of the model',
    schema: { type: 'string', enum: model.versions.map(String) },
  };
  const served = `Inputs and outputs as version ${manifest.version} declares them; the version that answers is named in the ${ResponseHeader.MODEL_VERSION} header.`;
  return {
    [base]: { get: operation(`Metadata of ${model.name}`, 'ModelMetadata', { tag, notFound: true }) },
    [`${base}/ready`]: {
      get: operation(`Readiness of ${model.name}`, 'ModelReady', { tag, notFound: true, unavailable: true }),
    },
    [`${base}/infer`]: {
      post: operation(
        `Inference on ${model.name} (V2), by the version its alias routes to`,
        'InferResponse',
        {
          tag,
          description: served,
          request: infer,
          refused: true,
        },
      ),
    },
    [`${base}/versions/{version}/infer`]: {
      post: {
        ...operation(`Inference on one version of ${model.name} (V2)`, 'InferResponse', {
          tag,
          request: infer,
          refused: true,
        }),
        parameters: [versionParameter],
      },
    },
    [`${simple}/predict`]: {
      post: operation(`Predictions of ${model.name} (simple form)`, 'PredictResponse', {
        tag,
        description: served,
        request: predict,
        refused: true,
      }),
    },
    [`${base}/openapi.json`]: {
      get: operation(`This document for ${model.name} alone`, undefined, {
        tag,
        body: { type: 'object' },
        notFound: true,
      }),
    },
  };
}

interface OperationOptions {
  readonly tag: string;
  readonly description?: string;
  /** The request body (schema and example). */
  readonly request?: { readonly schema: unknown; readonly example: unknown };
  /** The 200 body when it is not a component. */
  readonly body?: unknown;
  /** Answers 400/404/413/415 for bad input. */
  readonly refused?: boolean;
  /** Answers 404 for an unknown model or version. */
  readonly notFound?: boolean;
  /** Answers 503 while the model or its store cannot be reached. */
  readonly unavailable?: boolean;
}

function operation(summary: string, component: string | undefined, options: OperationOptions): object {
  const error = { description: '', content: { 'application/json': { schema: ref('Error') } } };
  const responses: Record<string, unknown> = {
    200: {
      description: 'OK',
      content: { 'application/json': { schema: component ? ref(component) : options.body } },
    },
  };
  if (options.refused) {
    responses[400] = {
      ...error,
      description: 'Bad input: bad JSON, an unknown input name, a wrong datatype or shape',
    };
    responses[413] = { ...error, description: 'The request or its answer is over a limit' };
  }
  if (options.refused || options.notFound) {
    responses[404] = { ...error, description: 'Unknown model or version' };
  }
  if (options.refused || options.unavailable) {
    responses[503] = { ...error, description: 'The model cannot be loaded, or its store cannot be reached' };
  }
  return {
    summary,
    tags: [options.tag],
    ...(options.description === undefined ? {} : { description: options.description }),
    ...(options.request
      ? {
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: options.request.schema, example: options.request.example },
            },
          },
        }
      : {}),
    responses,
  };
}

/** The V2 request body, its inputs narrowed to the manifest's. */
function inferBody(manifest: ModelManifest): { schema: unknown; example: unknown } {
  const tensors = manifest.inputs.map((spec) =>
    RequestTensorSchema.extend({
      name: z.literal(spec.name),
      datatype: z.literal(spec.datatype),
      shape: z.array(z.number().int().nonnegative()).length(spec.shape.length),
    }).meta({ description: `${spec.datatype} ${shapeText(spec)}` }),
  );
  const [first, ...rest] = tensors;
  const inputItem = rest.length === 0 && first ? first : z.union(tensors);
  const schema = InferRequestSchema.extend({
    inputs: z.array(inputItem).min(1).max(manifest.inputs.length),
  });
  const inputs = exampleInputs(manifest);
  const example = inputs && {
    inputs: inputs.map((input) => ({
      name: input.name,
      shape: input.shape,
      datatype: input.datatype,
      data: input.data,
    })),
  };
  return { schema: jsonSchema(schema), example };
}

/** The simple form's body: rows for a single-input model, or the inputs by name. */
function predictBody(manifest: ModelManifest): { schema: unknown; example: unknown } {
  const inputs = exampleInputs(manifest);
  const byName = z.strictObject(
    Object.fromEntries(
      manifest.inputs.map((spec) => [
        spec.name,
        z.array(z.unknown()).meta({ description: `${spec.datatype} ${shapeText(spec)}, nested` }),
      ]),
    ),
  );
  const schema = PredictRequestSchema.safeExtend({ inputs: byName.optional() });
  const [only, ...more] = inputs ?? [];
  const example =
    inputs === undefined
      ? undefined
      : only && more.length === 0
        ? { instances: nest(only.data, only.shape) }
        : { inputs: Object.fromEntries(inputs.map((input) => [input.name, nest(input.data, input.shape)])) };
  return { schema: jsonSchema(schema), example };
}

/**
 * An example's inputs: the first golden example's, or zeros of each input's shape (dynamic dimensions as 1); none
 * when an input would carry more than {@link MAX_EXAMPLE_VALUES} values.
 */
function exampleInputs(
  manifest: ModelManifest,
): { name: string; datatype: string; shape: number[]; data: unknown[] }[] | undefined {
  const golden = manifest.goldenExamples?.[0];
  const inputs = manifest.inputs.map((spec) => {
    const given = golden?.inputs.find((input) => input.name === spec.name);
    if (given)
      return {
        name: spec.name,
        datatype: spec.datatype,
        shape: given.shape,
        data: given.data.flat(Infinity),
      };
    const shape = spec.shape.map((dim) => (dim < 0 ? 1 : dim));
    const count = shape.reduce((product, dim) => product * dim, 1);
    // Too big to show is not allocated either (an image input holds millions).
    if (count > MAX_EXAMPLE_VALUES) return undefined;
    return {
      name: spec.name,
      datatype: spec.datatype,
      shape,
      data: new Array(count).fill(zeroOf(spec.datatype)),
    };
  });
  const shown = inputs.flatMap((input) =>
    input !== undefined && input.data.length <= MAX_EXAMPLE_VALUES ? [input] : [],
  );
  return shown.length === inputs.length ? shown : undefined;
}

/** A zero of a datatype, as a V2 client writes it. */
function zeroOf(datatype: string): unknown {
  if (datatype === TensorDatatype.BOOL) return false;
  if (datatype === TensorDatatype.BYTES) return '';
  return 0;
}

/** Flat row-major data as nested arrays of `shape`. */
function nest(data: readonly unknown[], shape: readonly number[]): unknown {
  const [outer, ...inner] = shape;
  if (outer === undefined) return data[0];
  if (inner.length === 0) return data.slice(0, outer);
  const size = inner.reduce((product, dim) => product * dim, 1);
  return Array.from({ length: outer }, (_, index) =>
    nest(data.slice(index * size, (index + 1) * size), inner),
  );
}

function shapeText(spec: TensorSpec): string {
  return `[${spec.shape.map((dim, index) => (dim < 0 ? (spec.dimNames?.[index] ?? '-1') : String(dim))).join(', ')}]`;
}

const liveSchema = { type: 'object', properties: { live: { type: 'boolean' } } };
const readySchema = { type: 'object', properties: { ready: { type: 'boolean' } } };

function ref(name: string): { $ref: string } {
  return { $ref: `#/components/schemas/${name}` };
}

/** A zod schema as the JSON Schema of a document (its `$schema` left to the document's dialect). */
function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return rest;
}

function componentSchemas(): Record<string, unknown> {
  return {
    Error: jsonSchema(ErrorBodySchema),
    InferRequest: jsonSchema(InferRequestSchema),
    PredictRequest: jsonSchema(PredictRequestSchema),
    InferResponse: jsonSchema(InferResponseSchema),
    PredictResponse: jsonSchema(PredictResponseSchema),
    ModelMetadata: jsonSchema(ModelMetadataResponseSchema),
    ModelReady: jsonSchema(ModelReadyResponseSchema),
    ServerMetadata: jsonSchema(ServerMetadataResponseSchema),
  };
}
