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
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The JSON body sent to the client: the message only, never a stack. */
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
  constructor(message: string) {
    super(405, message);
  }
}

/** 413: the body is larger than the limit. */
export class PayloadTooLargeError extends HttpError {
  constructor(message: string) {
    super(413, message);
  }
}

/** 415: the body is not JSON. */
export class UnsupportedMediaTypeError extends HttpError {
  constructor(message: string) {
    super(415, message);
  }
}

/** 503: the model cannot be loaded right now (store down, corrupt bytes); retrying may help. */
export class ServiceUnavailableError extends HttpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(503, message, options);
  }
}
