import { CfnOutput, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { Architecture, type ModelDeployment, ModelDeploymentSchema } from '../config/deploy-config.js';
import {
  type CodeDeployNames,
  codeDeployNames,
  LIVE_ALIAS,
  MAX_CODEDEPLOY_NAME_LENGTH,
} from '../rollout/aws/stack-names.js';
import { ALARM_THRESHOLDS_VARIABLE } from '../rollout/aws/version-alarm-specs.js';
import { acceptFindings, NagReason, nagArn } from './nag-suppressions.js';
import { deploymentConfigFor } from './private/deployment-config.js';
import { FunctionEntry } from './private/entry-paths.js';
import { functionCode } from './private/function-code.js';
import { VersionAlarms } from './private/version-alarms.js';
import type { RegistryBucket } from './registry-bucket.js';

// Defined beside the other names the CLI finds again; still importable from here, where it was first defined.
export { LIVE_ALIAS };

/** Properties of {@link ModelEndpoint}. */
export interface ModelEndpointProps {
  /** The registry the function loads its model from. */
  readonly registry: RegistryBucket;
  /** The model, its version and sha256, sizing and rollout policy (defaults filled by the config schema). */
  readonly model: ModelDeployment;
  /**
   * Topic notified by every alarm of the new version.
   * @default no notifications
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Run the manifest's golden examples against a new version before CodeDeploy shifts any traffic.
   * @default true
   */
  readonly preTrafficCheck?: boolean;
}

/**
 * One model behind an alias: its function, the Lambda version of the configured model version, the
 * `live` alias, the CodeDeploy deployment group that shifts the alias, and the version's rollback alarms.
 *
 * Two paths move the alias, never at the same time:
 * - `cdk deploy` of a changed model version publishes a new Lambda version, and CodeDeploy shifts the alias to
 *   it under the alarms and the pre-traffic hook. The CodeDeploy application and deployment group are both named
 *   `<stackName>-<model>` ({@link codeDeployNames}), so the CLI finds them without reading the stack.
 * - `sluice deploy/promote/rollback` (lib/rollout/aws/LambdaRolloutTarget.ts) publish versions themselves and
 *   weight the alias with UpdateAlias; they refuse while a deployment of that group is created, queued, in
 *   progress or ready. Their version alarms are named like the ones here (`sluice-<function>-<version>-<kind>`),
 *   and the alarm-rollback function (lib/cdk/alarm-rollback.ts) sets the candidate's weight to 0 when one fires.
 * A later `cdk deploy` that changes the model version resets the function's environment and, through CodeDeploy,
 * the alias; one that changes nothing of the function leaves the alias where sluice put it.
 *
 * @example
 * const iris = new ModelEndpoint(this, 'Iris', { registry, model: ModelDeploymentSchema.parse({ name: 'iris', version: 3, sha256 }) });
 * api.addModel(iris);
 */
export class ModelEndpoint extends Construct {
  /** The model's name. */
  readonly modelName: string;
  /** The registry version the new Lambda version serves. */
  readonly modelVersion: number;
  readonly fn: lambda.Function;
  readonly version: lambda.Version;
  /** The alias API Gateway invokes. */
  readonly alias: lambda.Alias;
  readonly deploymentGroup: codedeploy.LambdaDeploymentGroup;
  /** The names of the CodeDeploy application and deployment group, `<stackName>-<model>`. */
  readonly codeDeployNames: CodeDeployNames;
  /** Alarms scoped to the new version; any of them rolls the deployment back. */
  readonly alarms: cloudwatch.Alarm[];
  /** The BeforeAllowTraffic hook, when enabled. */
  readonly preTrafficHook?: lambda.Function;

  constructor(scope: Construct, id: string, props: ModelEndpointProps) {
    super(scope, id);
    const model = ModelDeploymentSchema.parse(props.model);
    this.modelName = model.name;
    this.modelVersion = model.version;
    const architecture =
      model.architecture === Architecture.ARM64 ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;

    this.fn = new lambda.Function(this, 'Function', {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture,
      handler: 'index.handler',
      code: functionCode({
        entry: FunctionEntry.PREDICT,
        architecture: model.architecture,
        includeOnnxRuntime: true,
      }),
      memorySize: model.memoryMb,
      timeout: Duration.seconds(model.timeoutSeconds),
      // The model identity lives in the environment, so a new model version always changes the function
      // configuration and with it the hash behind `currentVersion` (tested: aws/aws-cdk#25997).
      environment: {
        SLUICE_BUCKET: props.registry.bucket.bucketName,
        SLUICE_MODEL: model.name,
        SLUICE_MODEL_VERSION: String(model.version),
        SLUICE_MODEL_SHA256: model.sha256,
        // The thresholds of the version alarms, for the alarms `sluice deploy` creates for versions it publishes.
        [ALARM_THRESHOLDS_VARIABLE]: JSON.stringify(model.alarms),
        NODE_OPTIONS: '--enable-source-maps',
      },
      description: `sluice ${model.name} v${model.version} sha256:${model.sha256.slice(0, 12)}`,
      logGroup: new logs.LogGroup(this, 'Logs', {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      tracing: lambda.Tracing.ACTIVE,
    });
    props.registry.grantReadModel(this.fn, model.name);

    new CfnOutput(this, 'FunctionName', {
      value: this.fn.functionName,
      description: `${model.name}'s predict function: \`sluice deploy|promote|rollback|status ${model.name} --function <this>\``,
    });

    this.version = this.fn.currentVersion;
    this.alias = new lambda.Alias(this, 'Live', {
      aliasName: LIVE_ALIAS,
      version: this.version,
      // On the alias, not the version: CodeDeploy's weighted shifting then splits it across both versions.
      // Changing this number while a deployment shifts the alias fails in Lambda; see the README.
      ...(model.provisionedConcurrency > 0
        ? { provisionedConcurrentExecutions: model.provisionedConcurrency }
        : {}),
    });

    this.alarms = new VersionAlarms(this, 'Alarms', {
      fn: this.fn,
      alias: this.alias,
      version: this.version,
      model: model.name,
      modelVersion: model.version,
      thresholds: model.alarms,
    }).alarms;
    if (props.alarmTopic) {
      const action = new cloudwatchActions.SnsAction(props.alarmTopic);
      for (const alarm of this.alarms) alarm.addAlarmAction(action);
    }

    if (props.preTrafficCheck ?? true) {
      this.preTrafficHook = new lambda.Function(this, 'PreTrafficHook', {
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.X86_64,
        handler: 'index.handler',
        code: functionCode({
          entry: FunctionEntry.PRE_TRAFFIC,
          architecture: Architecture.X86_64,
          includeOnnxRuntime: false,
        }),
        memorySize: 256,
        timeout: Duration.minutes(5),
        environment: { SLUICE_BUCKET: props.registry.bucket.bucketName },
        description: `sluice ${model.name}: golden examples before traffic`,
        logGroup: new logs.LogGroup(this, 'PreTrafficLogs', {
          retention: logs.RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
      });
      props.registry.grantReadModel(this.preTrafficHook, model.name);
      this.fn.grantInvoke(this.preTrafficHook);
      this.preTrafficHook.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['lambda:GetFunctionConfiguration'],
          resources: [this.fn.functionArn, `${this.fn.functionArn}:*`],
        }),
      );
    }

    this.codeDeployNames = endpointCodeDeployNames(this, model.name);
    this.deploymentGroup = new codedeploy.LambdaDeploymentGroup(this, 'Deployment', {
      application: new codedeploy.LambdaApplication(this, 'Application', {
        applicationName: this.codeDeployNames.applicationName,
      }),
      deploymentGroupName: this.codeDeployNames.deploymentGroupName,
      alias: this.alias,
      deploymentConfig: deploymentConfigFor(this, model.rollout),
      alarms: this.alarms,
      ...(this.preTrafficHook ? { preHook: this.preTrafficHook } : {}),
      autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
    });
    if (this.preTrafficHook) {
      this.preTrafficHook.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['codedeploy:GetDeployment'],
          resources: [this.deploymentGroup.deploymentGroupArn],
        }),
      );
    }
    this.acceptNagFindings(props.registry);
  }

  private acceptNagFindings(registry: RegistryBucket): void {
    const modelObjects = `Resource::${nagArn(registry.bucket)}/models/${this.modelName}/*`;
    const basicRole = {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: NagReason.BASIC_EXECUTION_ROLE,
    };
    acceptFindings(
      this.fn,
      basicRole,
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: NagReason.XRAY },
      {
        id: `AwsSolutions-IAM5[${modelObjects}]`,
        reason: NagReason.MODEL_OBJECTS,
      },
    );
    if (this.preTrafficHook) {
      acceptFindings(
        this.preTrafficHook,
        basicRole,
        { id: `AwsSolutions-IAM5[${modelObjects}]`, reason: NagReason.MODEL_OBJECTS },
        {
          id: `AwsSolutions-IAM5[Resource::${nagArn(this.fn)}:*]`,
          reason: `The hook invokes and reads the configuration of the new version of this model's function. ${NagReason.QUALIFIED_ARNS}`,
        },
      );
    }
    acceptFindings(
      this.deploymentGroup,
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]',
        reason:
          "CodeDeploy's service role for Lambda deployments: the AWS managed policy CDK attaches for exactly that (alias updates, alarm reads).",
      },
      ...(this.preTrafficHook
        ? [
            {
              id: `AwsSolutions-IAM5[Resource::${nagArn(this.preTrafficHook)}:*]`,
              reason: `CodeDeploy invokes this model's pre-traffic hook. ${NagReason.QUALIFIED_ARNS}`,
            },
          ]
        : []),
    );
  }
}

/** The CodeDeploy names of an endpoint; throws at synth when the stack name makes them too long for CodeDeploy. */
function endpointCodeDeployNames(scope: Construct, model: string): CodeDeployNames {
  const { stackName } = Stack.of(scope);
  if (Token.isUnresolved(stackName)) {
    throw new Error(
      `${scope.node.path}: the stack name must be known at synth (got a token); pass a stackName to the stack`,
    );
  }
  const names = codeDeployNames(stackName, model);
  const longest = Math.max(names.applicationName.length, names.deploymentGroupName.length);
  if (longest > MAX_CODEDEPLOY_NAME_LENGTH) {
    throw new Error(
      `${scope.node.path}: the CodeDeploy names of model "${model}" in stack "${stackName}" would be ${longest} characters ` +
        `(${names.applicationName}); CodeDeploy allows ${MAX_CODEDEPLOY_NAME_LENGTH}: use a shorter stackName in the config`,
    );
  }
  return names;
}
