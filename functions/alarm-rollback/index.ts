/**
 * Lambda entry of the alarm-driven rollback: EventBridge delivers the state changes of sluice's version alarms,
 * and an alarm of a rollout's candidate sends its weight to 0 (see lib/rollout/aws/alarm-rollback.ts).
 */
import { createAlarmRollbackHandler } from '../../lib/aws/alarm-rollback/alarm-rollback-handler.js';

/**
 * The handler EventBridge invokes (asynchronously). A throw makes Lambda retry the event, which is what a
 * failed UpdateAlias or state write needs: the retry finds the rollout still rolling and acts again.
 */
export const handler = createAlarmRollbackHandler(process.env);
