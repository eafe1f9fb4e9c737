import type { APIGatewayProxyResult } from 'aws-lambda';
import { attachBodyBytes } from '../core/contract/body-bytes.js';
import { httpErrorOf } from './http-errors.js';

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/** Builds a JSON proxy result from a body that is already serialised. */
export function jsonResult(
  statusCode: number,
  body: string,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body };
}

/**
 * Builds a binary proxy result: base64 `body` for API Gateway and Lambda, written only when read, and the bytes
 * themselves for the local emulator (see `attachBodyBytes`).
 */
export function binaryResult(
  statusCode: number,
  bytes: Uint8Array,
  headers: Record<string, string>,
): APIGatewayProxyResult {
  return attachBodyBytes({ statusCode, headers, body: '', isBase64Encoded: true }, bytes);
}

/**
 * Turns any thrown value into a JSON error result through the one status table ({@link httpErrorOf}): domain
 * errors keep their status and message; anything else is a 500 whose body says nothing about internals.
 */
export function errorResult(error: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  const reply = httpErrorOf(error);
  return jsonResult(reply.status, JSON.stringify(reply.body), { ...headers, ...reply.headers });
}

/**
 * The result with `headers` added (the result itself, so a local result's bytes stay attached); the result
 * unchanged when there are none.
 */
export function withHeaders(
  result: APIGatewayProxyResult,
  headers: Readonly<Record<string, string>>,
): APIGatewayProxyResult {
  if (Object.keys(headers).length === 0) return result;
  result.headers = { ...result.headers, ...headers };
  return result;
}
