/**
 * Lambda entries of the release custom resource (`Custom::SluiceRelease`, one per model) behind CDK's Provider
 * framework: `onEvent` creates the alias or starts a rollout through the engine, `isComplete` waits for its
 * outcome (see lib/rollout/aws/release-resource.ts). This is how `cdk deploy` moves a model's traffic.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { z } from 'zod';
import { controlPlaneClientConfig } from '../../lib/aws/control-plane-clients.js';
import { LambdaRolloutTarget } from '../../lib/aws/lambda/LambdaRolloutTarget.js';
import { withLambdaContext } from '../../lib/aws/lambda-runtime/with-lambda-context.js';
import {
  boundedFailures,
  CDK_ACTOR,
  isReleaseComplete,
  onReleaseEvent,
  type ReleaseDeps,
  type ReleaseResponse,
} from '../../lib/aws/release/release-resource.js';
import { readControlPlaneConfig } from '../../lib/core/environment/control-plane-environment.js';
import { METRICS_SERVICE } from '../../lib/core/metrics/metric-names.js';
import { RolloutEngine } from '../../lib/rollout/RolloutEngine.js';
import { createS3Client } from '../../lib/storage/create-s3-client.js';
import { ModelRegistry } from '../../lib/storage/ModelRegistry.js';
import { RolloutStore } from '../../lib/storage/RolloutStore.js';
import { S3ObjectStore } from '../../lib/storage/S3ObjectStore.js';

const config = readControlPlaneConfig(process.env);
const s3 = createS3Client({ region: config.region, endpoint: config.s3Endpoint });
const lambda = new LambdaClient(controlPlaneClientConfig(config.region));
const registry = new ModelRegistry({ store: new S3ObjectStore({ client: s3, bucket: config.bucket }) });
const store = new RolloutStore({ store: new S3ObjectStore({ client: s3, bucket: config.bucket }) });
const logger = new Logger({ serviceName: METRICS_SERVICE, persistentKeys: { handler: 'release' } });

/** The request names the function; the target acts on it for this one model. */
const FunctionOfEvent = z.object({ ResourceProperties: z.object({ FunctionName: z.string().min(1) }) });

function depsFor(event: unknown): ReleaseDeps {
  const functionName = FunctionOfEvent.parse(event).ResourceProperties.FunctionName;
  const target = new LambdaRolloutTarget({
    lambda,
    cloudwatch: new CloudWatchClient(controlPlaneClientConfig(config.region)),
    logs: new CloudWatchLogsClient(controlPlaneClientConfig(config.region)),
    registry,
    functionName: () => functionName,
  });
  return {
    lambda,
    cloudwatch: new CloudWatchClient(controlPlaneClientConfig(config.region)),
    store,
    target,
    engine: new RolloutEngine({ store, target, registry, actor: CDK_ACTOR }),
    logger,
  };
}

/** The Provider framework's `onEvent`: Create, Update, Delete of a model's release. */
export const onEvent = withLambdaContext(
  logger,
  boundedFailures(
    async (event: unknown): Promise<ReleaseResponse> => onReleaseEvent(event, depsFor(event)),
    logger,
  ),
);

/** The Provider framework's `isComplete`, called every minute after `onEvent` until true or thrown. */
export const isComplete = withLambdaContext(
  logger,
  boundedFailures(
    async (event: unknown): Promise<{ IsComplete: boolean }> => isReleaseComplete(event, depsFor(event)),
    logger,
  ),
);
