import type { APIGatewayProxyResult } from 'aws-lambda';
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
 * Turns any thrown value into a JSON error result through the one status table ({@link httpErrorOf}): domain
 * errors keep their status and message; anything else is a 500 whose body says nothing about internals.
 */
export function errorResult(error: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  const reply = httpErrorOf(error);
  return jsonResult(reply.status, JSON.stringify(reply.body), { ...headers, ...reply.headers });
}
