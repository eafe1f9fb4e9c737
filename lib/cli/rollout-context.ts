import type { LambdaRolloutTarget } from '../aws/lambda/LambdaRolloutTarget.js';
import { SluiceError } from '../core/errors/SluiceError.js';
import { StackRolloutClient } from '../local/StackRolloutClient.js';
import type { RolloutControl } from '../rollout/RolloutControl.js';
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

/**
 * A model's predict function when neither `--function` nor SLUICE_FUNCTION names one (AWS only): `sluice models`
 * reads it from each model's rollout state, which names its function.
 */
export type FunctionOf = (model: string) => string | undefined;

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
 * and alarms (LambdaRolloutTarget). The AWS modules (SDK clients, engine, target) are loaded only on AWS.
 */
export async function resolveRolloutContext(
  options: RolloutTargetOptions,
  env: Record<string, string | undefined>,
  clients?: AwsClients,
  functionOf?: FunctionOf,
  /** Who the commands name in the rollout history. */
  actor: string = CLI_ACTOR,
): Promise<RolloutContext> {
  const registry = await resolveRegistryTarget(options, env);
  if (options.local) {
    if (!registry.apiUrl || !registry.controlToken)
      throw new SluiceError('the local stack did not say where its API listens, or its control token');
    return {
      control: new StackRolloutClient({
        apiUrl: registry.apiUrl,
        actor,
        controlToken: registry.controlToken,
      }),
      registry,
      local: true,
      pollIntervalMs: LOCAL_FOLLOW_INTERVAL_MS,
    };
  }
  const [target, { RolloutStore }, { RolloutEngine }, { EngineRolloutControl }] = await Promise.all([
    lambdaTarget(registry, options, env, clients, functionOf),
    import('../storage/RolloutStore.js'),
    import('../rollout/RolloutEngine.js'),
    import('../rollout/RolloutControl.js'),
  ]);
  const store = new RolloutStore({ store: registry.objects });
  const engine = new RolloutEngine({ store, target, registry: registry.registry, actor });
  return {
    control: new EngineRolloutControl({ engine, target, current: (model) => store.current(model) }),
    registry,
    local: false,
    pollIntervalMs: AWS_FOLLOW_INTERVAL_MS,
  };
}

async function lambdaTarget(
  registry: RegistryTarget,
  options: RolloutTargetOptions,
  env: Record<string, string | undefined>,
  clients: AwsClients | undefined,
  functionOf: FunctionOf | undefined,
): Promise<LambdaRolloutTarget> {
  const given = options.function ?? env.SLUICE_FUNCTION;
  if (!given && !functionOf) throw missingFunctionError();
  const functionName = (model: string): string => {
    const name = given ?? functionOf?.(model);
    if (!name) throw missingFunctionError();
    return name;
  };
  const [{ LambdaRolloutTarget }, aws] = await Promise.all([
    import('../aws/lambda/LambdaRolloutTarget.js'),
    clients ?? awsClients(registry.region),
  ]);
  return new LambdaRolloutTarget({ ...aws, registry: registry.registry, functionName });
}

/**
 * The Lambda, CloudWatch and CloudWatch Logs clients for a region, configured as sluice's control-plane functions
 * configure theirs (retries that ride out the account's shared Lambda API rate); the SDK is loaded now.
 */
export async function awsClients(region: string): Promise<AwsClients> {
  const { createControlPlaneClients } = await import('../aws/control-plane-clients.js');
  return createControlPlaneClients(region);
}

/** The usage error of an AWS command that was not told the model's predict function. */
export function missingFunctionError(): UsageError {
  return new UsageError(
    "on AWS, pass --function NAME (or set SLUICE_FUNCTION): the model's predict function, as listed by " +
      '`aws cloudformation describe-stack-resources --stack-name STACK`; or use --local for the local stack',
  );
}
