import { InvalidRequestError, MethodNotAllowedError, RouteNotFoundError } from '../errors/request-errors.js';

/** The operations of the HTTP contract (Open Inference Protocol V2 plus the simple predict form). */
export const Operation = {
  SERVER_METADATA: 'server-metadata',
  SERVER_LIVE: 'server-live',
  SERVER_READY: 'server-ready',
  MODEL_METADATA: 'model-metadata',
  MODEL_READY: 'model-ready',
  MODEL_STATS: 'model-stats',
  MODEL_INFER: 'model-infer',
  SIMPLE_PREDICT: 'simple-predict',
  /** Upload URLs for inputs sent by reference (see tensor-objects.ts). */
  MODEL_UPLOADS: 'model-uploads',
  /** The OpenAPI document of every model served here (`GET /openapi.json`). */
  OPENAPI: 'openapi',
  /** The OpenAPI document of one model (`GET /v2/models/{m}/openapi.json`). */
  MODEL_OPENAPI: 'model-openapi',
} as const;

/** One operation of the HTTP contract. */
export type Operation = (typeof Operation)[keyof typeof Operation];

/** A request path matched to its operation, with the model and (explicit) version it names. */
export interface MatchedRoute {
  readonly operation: Operation;
  readonly model?: string;
  /** Present only on `/versions/{v}` routes. */
  readonly version?: number;
}

interface RouteDefinition {
  readonly method: 'GET' | 'POST';
  readonly pattern: RegExp;
  readonly operation: Operation;
}

const SEGMENT = '([^/]+)';

/** Every route, as API Gateway exposes it; `{m}` is a model name, `{v}` a version number. */
const ROUTES: readonly RouteDefinition[] = [
  { method: 'GET', pattern: /^\/v2$/, operation: Operation.SERVER_METADATA },
  { method: 'GET', pattern: /^\/v2\/health\/live$/, operation: Operation.SERVER_LIVE },
  { method: 'GET', pattern: /^\/v2\/health\/ready$/, operation: Operation.SERVER_READY },
  { method: 'GET', pattern: /^\/openapi\.json$/, operation: Operation.OPENAPI },
  {
    method: 'GET',
    pattern: new RegExp(`^/v2/models/${SEGMENT}/openapi\\.json$`),
    operation: Operation.MODEL_OPENAPI,
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/v2/models/${SEGMENT}(?:/versions/${SEGMENT})?$`),
    operation: Operation.MODEL_METADATA,
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/v2/models/${SEGMENT}(?:/versions/${SEGMENT})?/ready$`),
    operation: Operation.MODEL_READY,
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/v2/models/${SEGMENT}(?:/versions/${SEGMENT})?/stats$`),
    operation: Operation.MODEL_STATS,
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/v2/models/${SEGMENT}(?:/versions/${SEGMENT})?/infer$`),
    operation: Operation.MODEL_INFER,
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/v2/models/${SEGMENT}(?:/versions/${SEGMENT})?/uploads$`),
    operation: Operation.MODEL_UPLOADS,
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/models/${SEGMENT}(?:/versions/${SEGMENT})?/predict$`),
    operation: Operation.SIMPLE_PREDICT,
  },
];

/**
 * Matches a method and path to an operation of the contract.
 *
 * Throws RouteNotFoundError for unknown paths, MethodNotAllowedError for a known path with the wrong
 * method, and InvalidRequestError for a version that is not a positive integer.
 *
 * @example
 * matchRoute('POST', '/v2/models/iris/versions/2/infer'); // { operation: 'model-infer', model: 'iris', version: 2 }
 */
export function matchRoute(method: string, rawPath: string): MatchedRoute {
  // Clients call the same few paths over and over: a matched one is looked up, not matched again (about 1.5 us).
  const key = `${method} ${rawPath}`;
  const known = matchedRoutes.get(key);
  if (known) return known;
  const matched = matchUncached(method, rawPath);
  if (rawPath.length > MAX_MATCHED_PATH_CHARS) return matched;
  if (matchedRoutes.size >= MAX_MATCHED_ROUTES) matchedRoutes.clear();
  matchedRoutes.set(key, matched);
  return matched;
}

/** Most matched routes kept: paths name models and versions, so a client could make any number of them. */
const MAX_MATCHED_ROUTES = 1024;

/** Longest path kept matched (a model name is at most 64 characters): the kept paths take at most about 256 KB. */
const MAX_MATCHED_PATH_CHARS = 256;

/** Routes matched so far, by method and path; emptied when full. Frozen: every request with the path shares one. */
const matchedRoutes = new Map<string, MatchedRoute>();

function matchUncached(method: string, rawPath: string): MatchedRoute {
  const path = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
  const allowed: string[] = [];
  for (const route of ROUTES) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) {
      allowed.push(route.method);
      continue;
    }
    const [, model, version] = match;
    return Object.freeze({
      operation: route.operation,
      ...(model === undefined ? {} : { model: decodeSegment(model) }),
      ...(version === undefined ? {} : { version: parseVersion(version) }),
    });
  }
  if (allowed.length > 0) throw new MethodNotAllowedError(method, path, allowed);
  throw new RouteNotFoundError(
    `no route for ${method} ${path}; see GET /v2 and the README for the endpoints`,
  );
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new InvalidRequestError(`path segment "${segment}" is not valid percent-encoding`);
  }
}

function parseVersion(segment: string): number {
  const version = /^[1-9][0-9]{0,8}$/.test(segment) ? Number(segment) : Number.NaN;
  if (!Number.isSafeInteger(version)) {
    throw new InvalidRequestError(`version "${segment}" is not a version number; versions are 1, 2, 3, ...`);
  }
  return version;
}
