import { SluiceError } from './SluiceError.js';

/** The registry has no model of that name. */
export class ModelNotFoundError extends SluiceError {
  constructor(readonly model: string) {
    super(`unknown model "${model}"`);
  }
}

/** The model exists but not that version (or the version has no manifest yet). */
export class VersionNotFoundError extends SluiceError {
  constructor(
    readonly model: string,
    readonly version: number | string,
  ) {
    super(`model "${model}" has no version ${version}`);
  }
}

/**
 * A model version cannot be loaded or looked up right now (store unreachable, corrupt bytes, a session onnxruntime
 * refuses); retrying may help. The message may name storage locations: the HTTP edge answers 503 without them.
 */
export class ModelUnavailableError extends SluiceError {}

/** The session failed on input that passed validation: a fault of the model version, not of the request (500). */
export class ModelRunError extends SluiceError {}

/** The bytes fetched for a version do not match the sha256 or size in its manifest; they are never served. */
export class ChecksumMismatchError extends SluiceError {
  constructor(
    readonly model: string,
    readonly version: number,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      `model "${model}" version ${version}: sha256 mismatch (manifest ${expected}, bytes ${actual}); refusing to load`,
    );
  }
}

/** The file given to publish is not a usable ONNX model, or what was published with it does not fit it. */
export class InvalidModelError extends SluiceError {}

/** A manifest in the store does not parse against the schema. */
export class InvalidManifestError extends SluiceError {}

/** Publishing gave up after too many races for the next version number. */
export class VersionConflictError extends SluiceError {}

/** A publish was stopped (Ctrl-C, SIGTERM) before its manifest was written: nothing was published. */
export class PublishAbortedError extends SluiceError {}
