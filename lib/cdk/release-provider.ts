import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, type IConstruct, type IDependable } from 'constructs';
import { Architecture } from '../core/config/deploy-config.js';
import { controlPlaneEnvironment } from '../core/environment/control-plane-environment.js';
import { PROVIDER_QUERY_INTERVAL_MS, PROVIDER_TOTAL_TIMEOUT_MS } from '../core/rollout/rollout-wait.js';
import { acceptFindings, NagReason, nagArn } from './nag-suppressions.js';
import { ControlPlaneGrants, grantReadMetrics, nagVersionAlarms } from './private/control-plane-grants.js';
import { FunctionEntry } from './private/entry-paths.js';
import { functionCode } from './private/function-code.js';
import type { RegistryBucket } from './registry-bucket.js';

/**
 * Model functions granted per managed policy in a model group: each adds about 560 characters (two function ARNs,
 * two qualified ARNs, an alarm ARN pattern, a log group ARN), and IAM allows a managed policy 6,144
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
 */
export const FUNCTIONS_PER_GRANT_POLICY = 8;

/** Properties of {@link ReleaseProvider}. */
export interface ReleaseProviderProps {
  /** The registry: manifests (golden examples, sha256) and the rollout states. */
  readonly registry: RegistryBucket;
  /**
   * Memory of the handlers.
   * @default 256
   */
  readonly memorySize?: number;
}

/**
 * The provider of every model's release custom resource (`Custom::SluiceRelease`): CDK's Provider framework with an
 * `onEvent` handler (create the `live` alias on a model's first deploy; start a rollout through sluice's engine
 * when a deploy changes what a model serves) and an `isComplete` handler (wait for the rollout's outcome), polled
 * every {@link PROVIDER_QUERY_INTERVAL_MS} for up to {@link PROVIDER_TOTAL_TIMEOUT_MS}
 * (lib/rollout/aws/release-resource.ts). One per stack; each endpoint is granted with {@link grantModel}.
 *
 * @example
 * const releases = new ReleaseProvider(this, 'Releases', { registry });
 * new ModelEndpoint(this, 'Iris', { registry, model, releases });
 */
export class ReleaseProvider extends Construct {
  /** `onEvent`: Create, Update, Delete of a model's release. */
  readonly onEventFn: lambda.Function;
  /** `isComplete`: the rollout's outcome. */
  readonly isCompleteFn: lambda.Function;
  /** CDK's Provider framework around them. */
  readonly provider: cr.Provider;
  readonly #registry: RegistryBucket;
  readonly #grants: ControlPlaneGrants[];
  readonly #groupGrants = new Map<
    Stack,
    { policy: iam.ManagedPolicy; grants: ControlPlaneGrants; functions: number }[]
  >();

  constructor(scope: Construct, id: string, props: ReleaseProviderProps) {
    super(scope, id);
    this.#registry = props.registry;
    const memorySize = props.memorySize ?? 256;
    const handler = (handlerId: string, exported: string, timeout: Duration, what: string) =>
      new lambda.Function(this, handlerId, {
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.X86_64,
        handler: `index.${exported}`,
        code: functionCode({
          entry: FunctionEntry.RELEASE,
          architecture: Architecture.X86_64,
          includeOnnxRuntime: false,
        }),
        memorySize,
        timeout,
        environment: {
          ...controlPlaneEnvironment({ bucket: props.registry.bucket.bucketName }),
          NODE_OPTIONS: '--enable-source-maps',
        },
        description: `sluice: ${what}`,
        logGroup: new logs.LogGroup(this, `${handlerId}Logs`, {
          retention: logs.RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
      });
    // onEvent publishes a version (code-only changes), runs the golden examples (a cold start loads the model).
    this.onEventFn = handler('OnEvent', 'onEvent', Duration.minutes(5), 'cdk deploy starts a model rollout');
    this.isCompleteFn = handler(
      'IsComplete',
      'isComplete',
      Duration.minutes(1),
      'cdk deploy waits for a rollout',
    );
    for (const fn of [this.onEventFn, this.isCompleteFn]) {
      props.registry.grantRollouts(fn);
      props.registry.grantReadModels(fn);
      grantReadMetrics(fn);
    }
    this.#grants = [this.onEventFn, this.isCompleteFn].map((fn) => new ControlPlaneGrants(fn));
    this.provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.onEventFn,
      isCompleteHandler: this.isCompleteFn,
      queryInterval: Duration.millis(PROVIDER_QUERY_INTERVAL_MS),
      totalTimeout: Duration.millis(PROVIDER_TOTAL_TIMEOUT_MS),
      logGroup: new logs.LogGroup(this, 'ProviderLogs', {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });
    this.acceptNagFindings();
  }

  /**
   * The managed policies the busier of the two handler roles carries once the app is prepared: the AWS managed
   * ones attached to it (AWSLambdaBasicExecutionRole), the overflow policies CDK splits its inline policy into
   * beyond 10 KB, and one per {@link FUNCTIONS_PER_GRANT_POLICY} models of each model group. For the synth check
   * against IAM's "Managed policies per role".
   */
  managedPoliciesPerRole(): number {
    const grantPolicies = [...this.#groupGrants.values()].reduce((sum, policies) => sum + policies.length, 0);
    return Math.max(
      ...[this.onEventFn, this.isCompleteFn].map((fn) => {
        const role = fn.role;
        if (!role) return grantPolicies;
        const cfnRole = role.node.defaultChild as iam.CfnRole | undefined;
        const attached = Stack.of(this).resolve(cfnRole?.managedPolicyArns) as unknown[] | undefined;
        const overflow = role.node.findAll().filter((child) => child instanceof iam.ManagedPolicy).length;
        return (attached?.length ?? 0) + overflow + grantPolicies;
      }),
    );
  }

  /** The service token of the releases' custom resources. */
  get serviceToken(): string {
    return this.provider.serviceToken;
  }

  /**
   * Lets the handlers act on one model: its function, its alias and its version alarms. A function in another
   * stack (a model group) is granted by a policy in that stack, attached to the handlers' roles: granted here, the
   * handlers would depend on the group, whose releases depend on the handlers. Returns that policy: the model's
   * release must wait for it.
   */
  grantModel(fn: lambda.Function): IDependable | undefined {
    const stack = Stack.of(fn);
    if (stack === Stack.of(this)) {
      for (const grants of this.#grants) grants.addFunction(fn);
      for (const handler of [this.onEventFn, this.isCompleteFn]) acceptModelFindings(handler, fn);
      return undefined;
    }
    const granted = this.#groupGrants.get(stack) ?? [];
    this.#groupGrants.set(stack, granted);
    let current = granted.at(-1);
    if (current === undefined || current.functions >= FUNCTIONS_PER_GRANT_POLICY) {
      // Managed, not inline: every inline policy of a role counts towards one 10,240-character quota, which the
      // main stack's grants already use; a managed policy has 6,144 characters of its own.
      const policy = new iam.ManagedPolicy(stack, `ReleaseGrants${granted.length + 1}`, {
        description:
          'sluice: the release handlers may act on these model functions, their aliases and alarms',
        roles: [this.onEventFn, this.isCompleteFn].map(
          (handler) => handler.role ?? assert(`${handler.node.path} has no role`),
        ),
      });
      current = { policy, grants: new ControlPlaneGrants(policy), functions: 0 };
      granted.push(current);
    }
    current.grants.addFunction(fn);
    current.functions++;
    acceptModelFindings(current.policy, fn);
    return current.policy;
  }

  private acceptNagFindings(): void {
    const invokesHandlers =
      'CDK\'s Provider framework invokes the release handlers; ":*" covers their qualified ARNs, as the framework grants it.';
    acceptFindings(
      this.provider,
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: `The Provider framework's own functions: ${NagReason.BASIC_EXECUTION_ROLE}`,
      },
      { id: `AwsSolutions-IAM5[Resource::${nagArn(this.onEventFn)}:*]`, reason: invokesHandlers },
      { id: `AwsSolutions-IAM5[Resource::${nagArn(this.isCompleteFn)}:*]`, reason: invokesHandlers },
      {
        id: `AwsSolutions-IAM5[Resource::${nagArn(this.provider.node.findChild('framework-isComplete'))}:*]`,
        reason: "The Provider framework's waiter state machine invokes the framework's isComplete function.",
      },
      {
        id: `AwsSolutions-IAM5[Resource::${nagArn(this.provider.node.findChild('framework-onTimeout'))}:*]`,
        reason: "The Provider framework's waiter state machine invokes the framework's onTimeout function.",
      },
      {
        id: 'AwsSolutions-SF1',
        reason:
          "The Provider framework's waiter only retries isComplete once a minute; the handlers log every decision, and the framework's functions log to the provider's log group.",
      },
      {
        id: 'AwsSolutions-SF2',
        reason: "The Provider framework's waiter makes no calls worth tracing beyond invoking isComplete.",
      },
    );
    for (const handler of [this.onEventFn, this.isCompleteFn]) {
      acceptFindings(
        handler,
        {
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          reason: NagReason.BASIC_EXECUTION_ROLE,
        },
        {
          id: `AwsSolutions-IAM5[Resource::${nagArn(this.#registry.bucket)}/rollouts/*]`,
          reason: NagReason.ROLLOUT_STATES,
        },
        {
          id: `AwsSolutions-IAM5[Resource::${nagArn(this.#registry.bucket)}/models/*]`,
          reason: NagReason.ALL_MODEL_OBJECTS,
        },
        { id: 'AwsSolutions-IAM5[Resource::*]', reason: NagReason.GET_METRIC_DATA },
      );
    }
  }
}

/** The control plane's acknowledged wildcards on one model's function: its qualified ARNs and its version alarms. */
function acceptModelFindings(scope: IConstruct, fn: lambda.IFunction): void {
  acceptFindings(
    scope,
    { id: `AwsSolutions-IAM5[Resource::${nagArn(fn)}:*]`, reason: NagReason.CONTROL_PLANE_VERSIONS },
    { id: `AwsSolutions-IAM5[${nagVersionAlarms(fn)}]`, reason: NagReason.VERSION_ALARMS },
  );
}

function assert(message: string): never {
  throw new Error(message);
}
