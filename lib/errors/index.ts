export {
  BadRequestError,
  HttpError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
} from './HttpError.js';
export {
  ChecksumMismatchError,
  InvalidManifestError,
  InvalidModelError,
  ModelNotFoundError,
  PublishAbortedError,
  VersionConflictError,
  VersionNotFoundError,
} from './registry-errors.js';
export { SluiceError } from './SluiceError.js';
