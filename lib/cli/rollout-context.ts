import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { LambdaRolloutTarget } from '../aws/lambda/LambdaRolloutTarget.js';
import { SluiceError } from '../core/errors/SluiceError.js';
import { StackRolloutClient } from '../local/StackRolloutClient.js';
import { EngineRolloutControl, type RolloutControl } from '../rollout/RolloutControl.js';
import { RolloutEngine } from '../rollout/RolloutEngine.js';
import { RolloutStore } from '../storage/RolloutStore.js';
import type { AwsClients } from './cli-io.js';
import { UsageError } from './exit-codes.js';
import { type RegistryTarget, resolveRegistryTarget, type TargetOptions } from './registry-target.js';

/** Who the CLI's rollout commands name as their actor in the rollout history. */
export const CLI_ACTOR = 'cli';

/**
 * How often `sluice deploy --local` re-reads the rollout it follows: asking the local stack is cheap, and a
 * rollback by its driver should end the command within a second.
 */
export const LOCAL_FOLLOW_INTERVAL_MS = 1_000;

/**
 * How often `sluice deploy` re-reads a rollout on AWS it follows: every read costs a few CloudWatch and S3
 * requests, and the scheduler steps rollouts once a minute.
 */
export const AWS_FOLLOW_INTERVAL_MS = 15_000;

/** Options of the rollout commands: the registry target, and on AWS the model's function. */
export interface RolloutTargetOptions extends TargetOptions {
  /** The model's predict function, name or ARN (AWS only). */
  readonly function?: string;
}

/** What a rollout command acts through. */
export interface RolloutContext {
  /** Deploy, promote, rollback and status: the running local stack carries them out, or on AWS the CLI's engine. */
  readonly control: RolloutControl;
  /** The registry (and the bucket the rollout states live in). */
  readonly registry: RegistryTarget;
  /** True for the local stack. */
  readonly local: boolean;
  /** How often `sluice deploy` re-reads the rollout it follows. */
  readonly pollIntervalMs: number;
}

/**
 * Wires the rollout commands: with `--local`, the running local stack, which owns its rollout states and carries
 * each command out itself; otherwise an engine on the registry bucket's store and the deployed stack's Lambda alias
 * and alarms (LambdaRolloutTarget).
 */
export async function resolveRolloutContext(
  options: RolloutTargetOptions,
  env: Record<string, string | undefined>,
  clients?: AwsClients,
): Promise<RolloutContext> {
  const registry = await resolveRegistryTarget(options, env);
  if (options.local) {
    if (!registry.apiUrl) throw new SluiceError('the local stack did not say where its API listens');
    return {
      control: new StackRolloutClient({ apiUrl: registry.apiUrl, actor: CLI_ACTOR }),
      registry,
      local: true,
      pollIntervalMs: LOCAL_FOLLOW_INTERVAL_MS,
    };
  }
  const target = lambdaTarget(registry, options, env, clients);
  const store = new RolloutStore({ store: registry.objects });
  const engine = new RolloutEngine({ store, target, registry: registry.registry, actor: CLI_ACTOR });
  return {
    control: new EngineRolloutControl({ engine, target, current: (model) => store.current(model) }),
    registry,
    local: false,
    pollIntervalMs: AWS_FOLLOW_INTERVAL_MS,
  };
}

function lambdaTarget(
  registry: RegistryTarget,
  options: RolloutTargetOptions,
  env: Record<string, string | undefined>,
  clients: AwsClients | undefined,
): LambdaRolloutTarget {
  const functionName = options.function ?? env.SLUICE_FUNCTION;
  if (!functionName) {
    throw new UsageError(
      "on AWS, pass --function NAME (or set SLUICE_FUNCTION): the model's predict function, as listed by " +
        '`aws cloudformation describe-stack-resources --stack-name STACK`; or use --local for the local stack',
    );
  }
  const clientConfig = { region: registry.region };
  return new LambdaRolloutTarget({
    lambda: clients?.lambda ?? new LambdaClient(clientConfig),
    cloudwatch: clients?.cloudwatch ?? new CloudWatchClient(clientConfig),
    logs: clients?.logs ?? new CloudWatchLogsClient(clientConfig),
    registry: registry.registry,
    functionName: () => functionName,
  });
}
