/**
 * Lambda entry of the alarm-driven rollback: EventBridge delivers the state changes of sluice's version alarms,
 * and an alarm of a rollout's candidate sends its weight to 0 (see lib/rollout/aws/alarm-rollback.ts).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import {
  ALARM_ACTOR,
  type AlarmRollbackOutcome,
  rollbackOnAlarm,
} from '../../lib/aws/alarm-rollback/alarm-rollback.js';
import { controlPlaneClientConfig } from '../../lib/aws/control-plane-clients.js';
import { LambdaRolloutTarget } from '../../lib/aws/lambda/LambdaRolloutTarget.js';
import { withLambdaContext } from '../../lib/aws/lambda-runtime/with-lambda-context.js';
import { readControlPlaneConfig } from '../../lib/core/environment/control-plane-environment.js';
import { parseAlarmStateChangeEvent } from '../../lib/core/gates/alarm-state-change-event.js';
import { METRICS_SERVICE } from '../../lib/core/metrics/metric-names.js';
import { RolloutEngine } from '../../lib/rollout/RolloutEngine.js';
import { createS3Client } from '../../lib/storage/create-s3-client.js';
import { ModelRegistry } from '../../lib/storage/ModelRegistry.js';
import { RolloutStore } from '../../lib/storage/RolloutStore.js';
import { S3ObjectStore } from '../../lib/storage/S3ObjectStore.js';

const config = readControlPlaneConfig(process.env);
const logger = new Logger({ serviceName: METRICS_SERVICE, persistentKeys: { handler: 'alarm-rollback' } });
const lambda = new LambdaClient(controlPlaneClientConfig(config.region));
const objects = new S3ObjectStore({
  client: createS3Client({ region: config.region, endpoint: config.s3Endpoint }),
  bucket: config.bucket,
});
const store = new RolloutStore({ store: objects });
// The rollback only routes: the registry, CloudWatch and Logs clients are the target's, not called on this path.
const registry = new ModelRegistry({ store: objects });
const cloudwatch = new CloudWatchClient(controlPlaneClientConfig(config.region));
const logs = new CloudWatchLogsClient(controlPlaneClientConfig(config.region));
const deps = {
  lambda,
  store,
  engineFor: (functionName: string) =>
    new RolloutEngine({
      store,
      registry,
      actor: ALARM_ACTOR,
      target: new LambdaRolloutTarget({
        lambda,
        cloudwatch,
        logs,
        registry,
        functionName: () => functionName,
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
