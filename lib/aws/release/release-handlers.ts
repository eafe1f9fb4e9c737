import { Logger } from '@aws-lambda-powertools/logger';
import * as z from 'zod';
import { readControlPlaneConfig } from '../../core/environment/control-plane-environment.js';
import { METRICS_SERVICE } from '../../core/metrics/metric-names.js';
import { RolloutEngine } from '../../rollout/RolloutEngine.js';
import { createS3Client } from '../../storage/create-s3-client.js';
import { ModelRegistry } from '../../storage/ModelRegistry.js';
import { RolloutStore } from '../../storage/RolloutStore.js';
import { S3ObjectStore } from '../../storage/S3ObjectStore.js';
import { type ControlPlaneClients, createControlPlaneClients } from '../control-plane-clients.js';
import { LambdaRolloutTarget } from '../lambda/LambdaRolloutTarget.js';
import { withLambdaContext } from '../lambda-runtime/with-lambda-context.js';
import {
  boundedFailures,
  CDK_ACTOR,
  isReleaseComplete,
  onReleaseEvent,
  type ReleaseDeps,
  type ReleaseResponse,
} from '../release/release-resource.js';

const logger = new Logger({ serviceName: METRICS_SERVICE, persistentKeys: { handler: 'release' } });

/** The request names the function; the target acts on it for this one model. */
const FunctionOfEvent = z.object({ ResourceProperties: z.object({ FunctionName: z.string().min(1) }) });

/** The Provider framework's two handlers of a release. */
export interface ReleaseHandlers {
  /** Create, Update, Delete of a model's release. */
  readonly onEvent: (event: unknown) => Promise<ReleaseResponse>;
  /** Called every minute after `onEvent` until true or thrown. */
  readonly isComplete: (event: unknown) => Promise<{ IsComplete: boolean }>;
}

/**
 * The handlers with their dependencies built from `env` (read once, as at cold start) and `clients` (the account's
 * control plane; tests pass clients a fake answers).
 */
export function createReleaseHandlers(
  env: NodeJS.ProcessEnv,
  clients?: ControlPlaneClients,
): ReleaseHandlers {
  const config = readControlPlaneConfig(env);
  const { lambda, cloudwatch, logs } = clients ?? createControlPlaneClients(config.region);
  const s3 = createS3Client({ region: config.region, endpoint: config.s3Endpoint });
  const registry = new ModelRegistry({ store: new S3ObjectStore({ client: s3, bucket: config.bucket }) });
  const store = new RolloutStore({ store: new S3ObjectStore({ client: s3, bucket: config.bucket }) });
  const depsFor = (event: unknown): ReleaseDeps => {
    const functionName = FunctionOfEvent.parse(event).ResourceProperties.FunctionName;
    const target = new LambdaRolloutTarget({
      lambda,
      cloudwatch,
      logs,
      registry,
      functionName: () => functionName,
    });
    return {
      lambda,
      cloudwatch,
      store,
      target,
      engine: new RolloutEngine({ store, target, registry, actor: CDK_ACTOR }),
      logger,
    };
  };
  return {
    onEvent: withLambdaContext(
      logger,
      boundedFailures(async (event: unknown) => onReleaseEvent(event, depsFor(event)), logger),
    ),
    isComplete: withLambdaContext(
      logger,
      boundedFailures(async (event: unknown) => isReleaseComplete(event, depsFor(event)), logger),
    ),
  };
}
