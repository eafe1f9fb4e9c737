/**
 * Lambda entry of the alarm-driven rollback: EventBridge delivers the state changes of sluice's version alarms,
 * and an alarm of a rollout's candidate sends its weight to 0 (see lib/rollout/aws/alarm-rollback.ts).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { METRICS_SERVICE } from '../../lib/observability/metric-names.js';
import { withLambdaContext } from '../../lib/observability/with-lambda-context.js';
import { type AlarmRollbackOutcome, rollbackOnAlarm } from '../../lib/rollout/aws/alarm-rollback.js';
import { readAlarmRollbackConfig } from '../../lib/rollout/aws/alarm-rollback-config.js';
import { parseAlarmStateChangeEvent } from '../../lib/rollout/aws/alarm-state-change-event.js';
import { RolloutStore } from '../../lib/rollout/RolloutStore.js';
import { createS3Client } from '../../lib/serving/create-s3-client.js';

const config = readAlarmRollbackConfig(process.env);
const logger = new Logger({ serviceName: METRICS_SERVICE, persistentKeys: { handler: 'alarm-rollback' } });
const deps = {
  lambda: new LambdaClient({ region: config.region }),
  store: new RolloutStore({
    client: createS3Client({ region: config.region, endpoint: config.s3Endpoint }),
    bucket: config.bucket,
  }),
  logger,
};

/**
 * The handler EventBridge invokes (asynchronously). A throw makes Lambda retry the event, which is what a
 * failed UpdateAlias or state write needs: the retry finds the rollout still rolling and acts again.
 */
export const handler = withLambdaContext(
  logger,
  async (event: unknown): Promise<AlarmRollbackOutcome> =>
    rollbackOnAlarm(parseAlarmStateChangeEvent(event), deps),
);
