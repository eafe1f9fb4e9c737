import * as z from 'zod';
import { INFERENCE_HEADER_CONTENT_LENGTH, ResponseHeader } from './headers.js';

/** How long a browser may keep a preflight's answer when the config does not say, in seconds. */
export const DEFAULT_CORS_MAX_AGE_SECONDS = 600;

/**
 * Longest a preflight's answer may be kept, in seconds: the most a function URL's CORS takes, 86400
 * (https://docs.aws.amazon.com/lambda/latest/api/API_Cors.html); browsers keep it shorter still.
 */
export const MAX_CORS_MAX_AGE_SECONDS = 86_400;

/** Most allowed origins: a function URL's CORS takes 100 (https://docs.aws.amazon.com/lambda/latest/api/API_Cors.html). */
export const MAX_CORS_ORIGINS = 100;

/** The request headers a browser may send to the contract: JSON or binary tensors, and each door's credentials. */
export const CORS_ALLOW_HEADERS = [
  'content-type',
  INFERENCE_HEADER_CONTENT_LENGTH,
  'authorization',
  'x-api-key',
  'x-amz-date',
  'x-amz-security-token',
  'x-amz-content-sha256',
] as const;

/** The response headers a page may read: the served version, the request id, the binary header's length. */
export const CORS_EXPOSE_HEADERS = [
  ResponseHeader.MODEL_VERSION,
  ResponseHeader.MODEL,
  ResponseHeader.REQUEST_ID,
  INFERENCE_HEADER_CONTENT_LENGTH,
] as const;

/** The methods of the contract. */
export const CORS_ALLOW_METHODS = ['GET', 'POST'] as const;

/** An origin as a browser sends it: scheme, host and port, no path; or `*` for any. */
const OriginSchema = z
  .string()
  .regex(
    /^(\*|https?:\/\/[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?)$/,
    'must be an origin as a browser sends it (scheme://host[:port], lowercase, no path or trailing slash), or "*"',
  );

/**
 * Which web pages may call the API from a browser (`api.cors` in sluice.config.json): off unless set. The door
 * answers preflights itself (API Gateway, a function URL) and, on the local stack, the stack does.
 */
export const CorsSettingsSchema = z
  .strictObject({
    /** The origins allowed, e.g. `https://app.example.com`, or `["*"]` for any page (no credentials are involved). */
    allowOrigins: z.array(OriginSchema).min(1).max(MAX_CORS_ORIGINS),
    /** How long a browser may keep a preflight's answer, in seconds. */
    maxAgeSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_CORS_MAX_AGE_SECONDS)
      .default(DEFAULT_CORS_MAX_AGE_SECONDS),
  })
  .refine((cors) => !cors.allowOrigins.includes('*') || cors.allowOrigins.length === 1, {
    message: '"*" allows every origin: list origins or give ["*"] alone',
    path: ['allowOrigins'],
  });
/** CORS settings. */
export type CorsSettings = z.infer<typeof CorsSettingsSchema>;

/** The origin a response may name in Access-Control-Allow-Origin for a request from `origin`; undefined if none. */
export function allowedOrigin(cors: CorsSettings, origin: string | undefined): string | undefined {
  if (origin === undefined) return undefined;
  if (cors.allowOrigins.includes('*')) return '*';
  return cors.allowOrigins.includes(origin) ? origin : undefined;
}

/**
 * The CORS headers of an answer to a request from `origin`: which origin may read it and which headers it may read.
 * For a request with no Origin or from one not allowed, only `Vary: Origin` (the browser then keeps the answer from
 * the page); with `["*"]`, the same headers for every request. `Vary: Origin` whenever the allowed origin depends on
 * the request, so a cache never hands one page's answer to another.
 *
 * @example
 * corsHeaders({ allowOrigins: ['https://app.example.com'], maxAgeSeconds: 600 }, 'https://app.example.com');
 */
export function corsHeaders(cors: CorsSettings, origin: string | undefined): Record<string, string> {
  // With "*" every answer is the same for every page, Origin or not: nothing to vary on.
  const allowed = cors.allowOrigins.includes('*') ? '*' : allowedOrigin(cors, origin);
  if (allowed === undefined) return { vary: 'Origin' };
  return {
    'access-control-allow-origin': allowed,
    'access-control-expose-headers': CORS_EXPOSE_HEADERS.join(', '),
    ...(allowed === '*' ? {} : { vary: 'Origin' }),
  };
}

/**
 * The answer to a preflight (`OPTIONS` with Access-Control-Request-Method) from `origin`: the methods and headers
 * allowed and how long to keep them, or undefined when the origin is not allowed (answered without CORS headers).
 */
export function preflightHeaders(
  cors: CorsSettings,
  origin: string | undefined,
): Record<string, string> | undefined {
  const allowed = allowedOrigin(cors, origin);
  if (allowed === undefined) return undefined;
  return {
    'access-control-allow-origin': allowed,
    'access-control-allow-methods': CORS_ALLOW_METHODS.join(', '),
    'access-control-allow-headers': CORS_ALLOW_HEADERS.join(', '),
    'access-control-max-age': String(cors.maxAgeSeconds),
    ...(allowed === '*' ? {} : { vary: 'Origin' }),
  };
}
