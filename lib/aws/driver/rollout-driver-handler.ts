import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { readControlPlaneConfig } from '../../core/environment/control-plane-environment.js';
import { METRICS_SERVICE } from '../../core/metrics/metric-names.js';
import { DRIVER_TIMEOUT_MS } from '../../core/rollout/rollout-wait.js';
import { RolloutEngine } from '../../rollout/RolloutEngine.js';
import { createS3Client } from '../../storage/create-s3-client.js';
import { DriverLease } from '../../storage/DriverLease.js';
import { ModelRegistry } from '../../storage/ModelRegistry.js';
import { RolloutStore } from '../../storage/RolloutStore.js';
import { S3ObjectStore } from '../../storage/S3ObjectStore.js';
import { type ControlPlaneClients, createControlPlaneClients } from '../control-plane-clients.js';
import { type DriveStackResult, driveStackRollouts } from '../driver/drive-stack-rollouts.js';
import { LambdaRolloutTarget } from '../lambda/LambdaRolloutTarget.js';
import { withLambdaContext } from '../lambda-runtime/with-lambda-context.js';

/** The actor the driver's steps record in the history. */
const SCHEDULER_ACTOR = 'scheduler';

const logger = new Logger({ serviceName: METRICS_SERVICE, persistentKeys: { handler: 'rollout-driver' } });

/**
 * The handler with its dependencies built from `env` (read once, as at cold start) and `clients` (the account's
 * control plane; tests pass clients a fake answers).
 */
export function createRolloutDriverHandler(
  env: NodeJS.ProcessEnv,
  clients?: ControlPlaneClients,
): (event: unknown, context?: Context) => Promise<DriveStackResult> {
  const config = readControlPlaneConfig(env);
  const { lambda, cloudwatch, logs } = clients ?? createControlPlaneClients(config.region);
  const s3 = createS3Client({ region: config.region, endpoint: config.s3Endpoint });
  const registry = new ModelRegistry({ store: new S3ObjectStore({ client: s3, bucket: config.bucket }) });
  const store = new RolloutStore({ store: new S3ObjectStore({ client: s3, bucket: config.bucket }) });
  const target = new LambdaRolloutTarget({
    lambda,
    cloudwatch,
    logs,
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
    name: env.AWS_LAMBDA_FUNCTION_NAME ?? 'rollout-driver',
    durationMs: DRIVER_TIMEOUT_MS,
  });
  return withLambdaContext(
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
}
