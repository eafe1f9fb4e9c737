/** Key prefix under which every model's rollout revisions live in the registry bucket. */
export const ROLLOUTS_PREFIX = 'rollouts/';

/** Digits of a revision in its key: zero-padded so keys sort (and list) in revision order. */
export const REVISION_DIGITS = 10;

/** Highest revision a key can hold with {@link REVISION_DIGITS} digits. */
export const MAX_REVISION = 10 ** REVISION_DIGITS - 1;

/** `rollouts/NAME/` */
export function rolloutPrefix(model: string): string {
  return `${ROLLOUTS_PREFIX}${model}/`;
}

/** `rollouts/NAME/0000000042.json` */
export function rolloutKey(model: string, revision: number): string {
  return `${rolloutPrefix(model)}${String(revision).padStart(REVISION_DIGITS, '0')}.json`;
}
