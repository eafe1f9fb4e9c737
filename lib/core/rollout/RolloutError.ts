import { SluiceError } from '../errors/SluiceError.js';

/**
 * A rollout command that cannot go ahead: a bad plan, a second rollout of the same model, a candidate
 * that failed its golden examples, a promote with nothing to promote. The message says what to do next.
 *
 * @example
 * throw new RolloutError('canary weight must be a whole percent from 1 to 99; got 150');
 */
export class RolloutError extends SluiceError {}
