import { SluiceError } from './SluiceError.js';

/**
 * The request is malformed or does not fit the model's signature; the message names what was wrong and what was
 * expected. The HTTP edge answers it with 400.
 *
 * @example
 * throw new InvalidRequestError('input "x": datatype is "INT64", expected FP32');
 */
export class InvalidRequestError extends SluiceError {}

/**
 * A tensor sent by reference names an object sluice cannot use: malformed, made for another model, missing (never
 * uploaded, already used, expired) or of another size than the input's datatype and shape need (400, like any bad
 * input). Nothing is changed by the refused request: the object, if any, stays until it is used or expires.
 */
export class ObjectReferenceError extends InvalidRequestError {}

/** The request body is larger than sluice takes (the HTTP edge answers 413). */
export class RequestTooLargeError extends SluiceError {}

/** No operation of the contract has that path (404). */
export class RouteNotFoundError extends SluiceError {}

/** The path exists but not for this method (405, with the methods it takes). */
export class MethodNotAllowedError extends SluiceError {
  constructor(
    readonly method: string,
    readonly path: string,
    /** The methods the path takes. */
    readonly allowed: readonly string[],
  ) {
    super(`${method} is not allowed on ${path}; use ${allowed.join(' or ')}`);
  }
}

/**
 * A state-changing request to the local stack that a web page could have sent (another origin, or a content type
 * a cross-site form can send without asking): refused (403), so a page the user opens cannot move their traffic.
 */
export class CrossSiteRequestError extends SluiceError {}

/** The body comes in a content coding sluice does not decode (`Content-Encoding: gzip`): the HTTP edge answers 415. */
export class UnsupportedEncodingError extends SluiceError {}

/** The client stopped sending a request it had begun, and the local API stopped waiting for it (408). */
export class RequestTimeoutError extends SluiceError {}

/** The request's URL is longer than API Gateway takes (414). */
export class UrlTooLongError extends SluiceError {}

/** The request's header section is larger than API Gateway takes (431). */
export class HeadersTooLargeError extends SluiceError {}
