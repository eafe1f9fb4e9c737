import { ModelUnavailableError } from '../../core/errors/model-errors.js';
import { httpStatusOf } from '../http-errors.js';

/**
 * Awaits a store operation. A failure of the store itself (unreachable, throttled, access denied) is a 503 with
 * `unreachable(reason)` as its message, as the engine answers for loads; sluice's own errors (an unknown model or
 * version, a bad reference: statuses under 500) keep their status.
 *
 * @example
 * await storeFailure(registry.getManifest('iris', 3), (reason) => `model "iris" cannot be looked up: ${reason}`);
 */
export function storeFailure<T>(operation: Promise<T>, unreachable: (reason: string) => string): Promise<T> {
  // A catch handler rather than an async function: one promise fewer on every request's path.
  return operation.catch((error: unknown) => {
    if (httpStatusOf(error) < 500) throw error;
    const reason = error instanceof Error ? error.message || error.name : String(error);
    throw new ModelUnavailableError(unreachable(reason), { cause: error });
  });
}
