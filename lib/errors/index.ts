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
  VersionConflictError,
  VersionNotFoundError,
} from './registry-errors.js';
export { SluiceError } from './SluiceError.js';
