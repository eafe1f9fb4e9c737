/**
 * Lambda entries of the release custom resource (`Custom::SluiceRelease`, one per model) behind CDK's Provider
 * framework: `onEvent` creates the alias or starts a rollout through the engine, `isComplete` waits for its
 * outcome (see lib/rollout/aws/release-resource.ts). This is how `cdk deploy` moves a model's traffic.
 */
import { createReleaseHandlers } from '../../lib/aws/release/release-handlers.js';

const handlers = createReleaseHandlers(process.env);

/** The Provider framework's `onEvent`: Create, Update, Delete of a model's release. */
export const onEvent = handlers.onEvent;

/** The Provider framework's `isComplete`, called every minute after `onEvent` until true or thrown. */
export const isComplete = handlers.isComplete;
