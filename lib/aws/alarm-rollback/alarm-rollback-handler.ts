import { Logger } from '@aws-lambda-powertools/logger';
import { readControlPlaneConfig } from '../../core/environment/control-plane-environment.js';
import { parseAlarmStateChangeEvent } from '../../core/gates/alarm-state-change-event.js';
import { METRICS_SERVICE } from '../../core/metrics/metric-names.js';
import { RolloutEngine } from '../../rollout/RolloutEngine.js';
import { createS3Client } from '../../storage/create-s3-client.js';
import { ModelRegistry } from '../../storage/ModelRegistry.js';
import { RolloutStore } from '../../storage/RolloutStore.js';
import { S3ObjectStore } from '../../storage/S3ObjectStore.js';
import { ALARM_ACTOR, type AlarmRollbackOutcome, rollbackOnAlarm } from '../alarm-rollback/alarm-rollback.js';
import { type ControlPlaneClients, createControlPlaneClients } from '../control-plane-clients.js';
import { LambdaRolloutTarget } from '../lambda/LambdaRolloutTarget.js';
import { withLambdaContext } from '../lambda-runtime/with-lambda-context.js';

const logger = new Logger({ serviceName: METRICS_SERVICE, persistentKeys: { handler: 'alarm-rollback' } });

/**
 * The handler with its dependencies built from `env` (read once, as at cold start) and `clients` (the account's
 * control plane; tests pass clients a fake answers).
 */
export function createAlarmRollbackHandler(
  env: NodeJS.ProcessEnv,
  clients?: ControlPlaneClients,
): (event: unknown) => Promise<AlarmRollbackOutcome> {
  const config = readControlPlaneConfig(env);
  const { lambda, cloudwatch, logs } = clients ?? createControlPlaneClients(config.region);
  const objects = new S3ObjectStore({
    client: createS3Client({ region: config.region, endpoint: config.s3Endpoint }),
    bucket: config.bucket,
  });
  const store = new RolloutStore({ store: objects });
  // The rollback only routes: the registry, CloudWatch and Logs clients are the target's, not called on this path.
  const registry = new ModelRegistry({ store: objects });
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
  return withLambdaContext(logger, async (event: unknown) =>
    rollbackOnAlarm(parseAlarmStateChangeEvent(event), deps),
  );
}
