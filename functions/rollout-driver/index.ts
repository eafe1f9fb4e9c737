/**
 * Lambda entry of the rollout driver: EventBridge Scheduler invokes it every minute, and it carries every rollout
 * of the stack's models on by one engine step, then removes old Lambda versions and their alarms
 * (see lib/rollout/aws/drive-stack-rollouts.ts). No CLI has to run for a rollout to finish.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { Context } from 'aws-lambda';
import { controlPlaneClientConfig } from '../../lib/aws/control-plane-clients.js';
import { type DriveStackResult, driveStackRollouts } from '../../lib/aws/driver/drive-stack-rollouts.js';
import { LambdaRolloutTarget } from '../../lib/aws/lambda/LambdaRolloutTarget.js';
import { withLambdaContext } from '../../lib/aws/lambda-runtime/with-lambda-context.js';
import { readControlPlaneConfig } from '../../lib/core/environment/control-plane-environment.js';
import { METRICS_SERVICE } from '../../lib/core/metrics/metric-names.js';
import { DRIVER_TIMEOUT_MS } from '../../lib/core/rollout/rollout-wait.js';
import { RolloutEngine } from '../../lib/rollout/RolloutEngine.js';
import { createS3Client } from '../../lib/storage/create-s3-client.js';
import { DriverLease } from '../../lib/storage/DriverLease.js';
import { ModelRegistry } from '../../lib/storage/ModelRegistry.js';
import { RolloutStore } from '../../lib/storage/RolloutStore.js';
import { S3ObjectStore } from '../../lib/storage/S3ObjectStore.js';

/** The actor the driver's steps record in the history. */
const SCHEDULER_ACTOR = 'scheduler';

const config = readControlPlaneConfig(process.env);
const s3 = createS3Client({ region: config.region, endpoint: config.s3Endpoint });
const lambda = new LambdaClient(controlPlaneClientConfig(config.region));
const cloudwatch = new CloudWatchClient(controlPlaneClientConfig(config.region));
const registry = new ModelRegistry({ store: new S3ObjectStore({ client: s3, bucket: config.bucket }) });
const store = new RolloutStore({ store: new S3ObjectStore({ client: s3, bucket: config.bucket }) });
const target = new LambdaRolloutTarget({
  lambda,
  cloudwatch,
  logs: new CloudWatchLogsClient(controlPlaneClientConfig(config.region)),
  registry,
  functionName: (model) => {
    const name = config.modelFunctions[model];
    if (name === undefined) throw new Error(`the rollout driver knows no function of model ${model}`);
    return name;
  },
});
const engine = new RolloutEngine({ store, target, registry, actor: SCHEDULER_ACTOR });
// One tick at a time, without reserved concurrency: the lease is named after this driver function.
const lease = new DriverLease({
  store: new S3ObjectStore({ client: s3, bucket: config.bucket }),
  name: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'rollout-driver',
  durationMs: DRIVER_TIMEOUT_MS,
});
const logger = new Logger({ serviceName: METRICS_SERVICE, persistentKeys: { handler: 'rollout-driver' } });

/** The handler EventBridge Scheduler invokes (asynchronously); its event carries nothing the driver needs. */
export const handler = withLambdaContext(
  logger,
  async (_event: unknown, context?: Context): Promise<DriveStackResult> =>
    driveStackRollouts({
      lease: { lease, holder: context?.awsRequestId ?? `driver-${process.pid}` },
      engine,
      store,
      lambda,
      cloudwatch,
      modelFunctions: config.modelFunctions,
      keepVersions: config.keepVersions,
      logger: {
        info: (message, extra) => logger.info(message, extra ?? {}),
        warn: (message, extra) => logger.warn(message, extra ?? {}),
      },
    }),
);
