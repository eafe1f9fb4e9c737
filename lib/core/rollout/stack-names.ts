/**
 * Names the CDK stack gives to what sluice's rollouts act on, so the CLI and the control-plane functions find
 * them again from the model name alone. Free of runtime imports: the constructs use it too.
 */

/** Name of the alias API Gateway invokes; only sluice's rollout engine moves it. */
export const LIVE_ALIAS = 'live';
