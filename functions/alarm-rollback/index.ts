/**
 * Lambda entry of the alarm-driven rollback: EventBridge delivers the state changes of sluice's version alarms,
 * and an alarm of a rollout's candidate sends its weight to 0 (see lib/rollout/aws/alarm-rollback.ts).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { type AlarmRollbackOutcome, rollbackOnAlarm } from '../../lib/aws/alarm-rollback/alarm-rollback.js';
import { withLambdaContext } from '../../lib/aws/lambda-runtime/with-lambda-context.js';
import { readControlPlaneConfig } from '../../lib/core/environment/control-plane-environment.js';
import { parseAlarmStateChangeEvent } from '../../lib/core/gates/alarm-state-change-event.js';
import { METRICS_SERVICE } from '../../lib/core/metrics/metric-names.js';
import { createS3Client } from '../../lib/storage/create-s3-client.js';
import { RolloutStore } from '../../lib/storage/RolloutStore.js';
import { S3ObjectStore } from '../../lib/storage/S3ObjectStore.js';

const config = readControlPlaneConfig(process.env);
const logger = new Logger({ serviceName: METRICS_SERVICE, persistentKeys: { handler: 'alarm-rollback' } });
const deps = {
  lambda: new LambdaClient({ region: config.region }),
  store: new RolloutStore({
    store: new S3ObjectStore({
      client: createS3Client({ region: config.region, endpoint: config.s3Endpoint }),
      bucket: config.bucket,
    }),
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
