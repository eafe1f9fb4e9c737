import type { APIGatewayProxyResult } from 'aws-lambda';
import { HttpError } from '../core/errors/HttpError.js';

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
 * Turns any thrown value into a JSON error result: HttpErrors keep their status and message;
 * anything else is a 500 whose body says nothing about internals (the log has the details).
 */
export function errorResult(error: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  if (error instanceof HttpError) {
    return jsonResult(error.status, JSON.stringify(error.body()), { ...headers, ...error.headers });
  }
  return jsonResult(
    500,
    JSON.stringify({ error: 'internal error; see the function logs for the request id' }),
    headers,
  );
}
