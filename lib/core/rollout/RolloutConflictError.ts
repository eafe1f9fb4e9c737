import { RolloutError } from './RolloutError.js';

/**
 * Another command wrote the model's next rollout revision between this command's read and its write;
 * nothing of this command was applied.
 *
 * @example
 * try {
 *   await store.write(next);
 * } catch (error) {
 *   if (error instanceof RolloutConflictError) console.error(error.message);
 * }
 */
export class RolloutConflictError extends RolloutError {
  constructor(
    /** The model whose rollout changed underneath. */
    readonly model: string,
    /** The revision this command tried to write, already taken. */
    readonly revision: number,
    options?: { cause?: unknown },
  ) {
    super(
      `another command changed the rollout of ${model} at the same time; run \`sluice status ${model}\` and retry`,
      options,
    );
  }
}
