/**
 * Lambda entry of the rollout driver: EventBridge Scheduler invokes it every minute, and it carries every rollout
 * of the stack's models on by one engine step, then removes old Lambda versions and their alarms
 * (see lib/rollout/aws/drive-stack-rollouts.ts). No CLI has to run for a rollout to finish.
 */
import { createRolloutDriverHandler } from '../../lib/aws/driver/rollout-driver-handler.js';

/** The handler EventBridge Scheduler invokes (asynchronously); its event carries nothing the driver needs. */
export const handler = createRolloutDriverHandler(process.env);
