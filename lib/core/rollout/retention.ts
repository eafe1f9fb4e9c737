/**
 * Published Lambda versions kept per function besides the ones the alias routes to and the rollout state names:
 * the newest few, so a rollback by hand (`sluice deploy` of an earlier version) rarely has to publish again. The
 * CDK sets it on the rollout driver; the driver prunes to it.
 */
export const DEFAULT_KEEP_VERSIONS = 3;
