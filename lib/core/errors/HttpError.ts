import { redactStorageDetails } from './private/redact-storage-details.js';
import { SluiceError } from './SluiceError.js';

/**
 * An error that maps to an HTTP status and serialises itself as `{"error": "..."}`.
 *
 * @example
 * throw new BadRequestError('input "x": expected datatype FP32, got INT64');
 */
export class HttpError extends SluiceError {
  constructor(
    /** HTTP status code sent to the client. */
    readonly status: number,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options);
    this.headers = options?.headers ?? {};
  }

  /** Extra response headers this error calls for (e.g. `allow` on a 405). */
  readonly headers: Record<string, string>;

  /** The JSON body sent to the client: the message only, never a stack. */
  body(): { error: string } {
    return { error: this.message };
  }

  /** How the error serialises in logs (loggers call `toJSON`): the whole message. */
  toJSON(): { error: string } {
    return { error: this.message };
  }
}

/** 400: the request is malformed or does not match the model's signature. */
export class BadRequestError extends HttpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(400, message, options);
  }
}

/** 404: no such route, model or version. */
export class NotFoundError extends HttpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(404, message, options);
  }
}

/** 405: the route exists but not for this method. */
export class MethodNotAllowedError extends HttpError {
  constructor(method: string, path: string, allowed: readonly string[]) {
    super(405, `${method} is not allowed on ${path}; use ${allowed.join(' or ')}`, {
      headers: { allow: allowed.join(', ') },
    });
  }
}

/** 413: the body is larger than the limit. */
export class PayloadTooLargeError extends HttpError {
  constructor(message: string) {
    super(413, message);
  }
}

/**
 * 503: the model cannot be loaded right now (store down, corrupt bytes); retrying may help. The message (and the
 * log) may name storage locations; the body sent to the client does not.
 */
export class ServiceUnavailableError extends HttpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(503, message, options);
  }

  /** The message without bucket names, object URLs, ARNs or AWS hosts: on AWS they are not the caller's to see. */
  override body(): { error: string } {
    return { error: redactStorageDetails(this.message) };
  }
}
