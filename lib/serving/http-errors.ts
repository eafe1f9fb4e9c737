import {
  ModelNotFoundError,
  ModelRunError,
  ModelUnavailableError,
  VersionNotFoundError,
} from '../core/errors/model-errors.js';
import {
  CrossSiteRequestError,
  HeadersTooLargeError,
  InvalidRequestError,
  MethodNotAllowedError,
  RequestTimeoutError,
  RequestTooLargeError,
  RouteNotFoundError,
  UnsupportedEncodingError,
  UrlTooLongError,
} from '../core/errors/request-errors.js';
import { RolloutError } from '../core/rollout/RolloutError.js';
import { redactStorageDetails } from './private/redact-storage-details.js';

/** The body of every error response: the message, never a stack. */
export interface ErrorBody {
  readonly error: string;
}

/** An error as an HTTP answer: status, the headers it calls for, the JSON body. */
export interface HttpErrorReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ErrorBody;
}

/** What any error that is not sluice's own says to the client; the log has the details. */
export const INTERNAL_ERROR_MESSAGE = 'internal error; see the function logs for the request id';

/** An error class of the domain. */
type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * The one table from domain errors to HTTP statuses, used by the Lambda app, the local emulator and the local
 * stack's own routes alike. Checked in order, so a subclass listed before its parent wins.
 */
const STATUS_BY_ERROR: readonly (readonly [ErrorClass, number])[] = [
  [InvalidRequestError, 400],
  [CrossSiteRequestError, 403],
  [RouteNotFoundError, 404],
  [ModelNotFoundError, 404],
  [VersionNotFoundError, 404],
  [MethodNotAllowedError, 405],
  [RequestTimeoutError, 408],
  [RequestTooLargeError, 413],
  [UrlTooLongError, 414],
  [UnsupportedEncodingError, 415],
  [HeadersTooLargeError, 431],
  // A command the rollout's state refuses (another rollout in progress, a failed golden check, nothing to promote).
  [RolloutError, 409],
  [ModelRunError, 500],
  [ModelUnavailableError, 503],
];

/**
 * The HTTP status of an error: its row of the table, 500 for anything else (a bug, not the client's doing).
 *
 * @example
 * httpStatusOf(new ModelNotFoundError('iris')); // 404
 */
export function httpStatusOf(error: unknown): number {
  for (const [type, status] of STATUS_BY_ERROR) if (error instanceof type) return status;
  return 500;
}

/**
 * Turns any thrown value into its HTTP answer. Domain errors keep their message (a 503's without bucket names,
 * object URLs, ARNs or AWS hosts: they are not the caller's to see); a 405 names the methods in `allow`; anything
 * else is a 500 that says nothing about internals.
 *
 * @example
 * httpErrorOf(new MethodNotAllowedError('PUT', '/v2', ['GET'])); // { status: 405, headers: { allow: 'GET' }, ... }
 */
export function httpErrorOf(error: unknown): HttpErrorReply {
  const status = httpStatusOf(error);
  const headers: Record<string, string> =
    error instanceof MethodNotAllowedError ? { allow: error.allowed.join(', ') } : {};
  if (status === 500 && !(error instanceof ModelRunError)) {
    return { status, headers, body: { error: INTERNAL_ERROR_MESSAGE } };
  }
  const message = (error as Error).message;
  return { status, headers, body: { error: status === 503 ? redactStorageDetails(message) : message } };
}
