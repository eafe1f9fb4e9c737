import { ArnFormat, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { VERSION_ALARM_PREFIX } from '../../core/gates/version-alarm-name.js';
import { nagRef } from '../nag-suppressions.js';

/**
 * What sluice's control plane (the release custom resource and the rollout driver) may do to the models' predict
 * functions: read and publish their versions, create, weight and delete their `live` alias, invoke a published
 * version (the golden check), delete old published versions (only qualified ARNs: a function itself cannot be
 * deleted), set provisioned concurrency; create, read and delete each function's version alarms; and query each
 * function's log group (Logs Insights, the answered classes of a step). No wildcard action, no hand-built ARN.
 * Four statements in all, whose resources grow with each function added, so the policy grows by a few ARNs per
 * model rather than by statements.
 *
 * @example
 * const grants = new ControlPlaneGrants(driverFunction);
 * for (const endpoint of endpoints) grants.addFunction(endpoint.fn);
 */
export class ControlPlaneGrants {
  readonly #addStatement: (statement: iam.PolicyStatement) => void;
  #statements?: {
    manage: iam.PolicyStatement;
    versions: iam.PolicyStatement;
    alarms: iam.PolicyStatement;
    logs: iam.PolicyStatement;
  };

  /**
   * @param grantee the principal whose own policy receives the statements, or an `iam.ManagedPolicy` (e.g. one
   *   in a model group's nested stack, attached to roles of the main stack) that holds them
   */
  constructor(grantee: iam.IGrantable | iam.ManagedPolicy) {
    this.#addStatement =
      grantee instanceof iam.ManagedPolicy
        ? (statement) => grantee.addStatements(statement)
        : (statement) => grantee.grantPrincipal.addToPrincipalPolicy(statement);
  }

  /** Lets the grantee act on one more predict function. */
  addFunction(fn: lambda.Function): void {
    const statements = this.#statements ?? this.#create();
    const qualified = `${fn.functionArn}:*`;
    statements.manage.addResources(fn.functionArn, qualified);
    statements.versions.addResources(qualified);
    statements.alarms.addResources(versionAlarmsArn(fn));
    statements.logs.addResources(fn.logGroup.logGroupArn);
  }

  #create() {
    const statement = (actions: string[]) => {
      const created = new iam.PolicyStatement({ actions });
      this.#addStatement(created);
      return created;
    };
    this.#statements = {
      manage: statement([
        'lambda:GetFunctionConfiguration',
        'lambda:ListVersionsByFunction',
        'lambda:UpdateFunctionConfiguration',
        'lambda:PublishVersion',
        'lambda:GetAlias',
        'lambda:CreateAlias',
        'lambda:UpdateAlias',
        'lambda:DeleteAlias',
        'lambda:PutProvisionedConcurrencyConfig',
        'lambda:DeleteProvisionedConcurrencyConfig',
      ]),
      versions: statement(['lambda:InvokeFunction', 'lambda:DeleteFunction']),
      alarms: statement([
        'cloudwatch:DescribeAlarms',
        'cloudwatch:PutMetricAlarm',
        'cloudwatch:DeleteAlarms',
      ]),
      // StartQuery's resource is the log group
      // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html).
      logs: statement(['logs:StartQuery']),
    };
    return this.#statements;
  }
}

/** The ARN pattern of a function's version alarms, `...:alarm:sluice-<function>-*`. */
export function versionAlarmsArn(fn: lambda.IFunction): string {
  return Stack.of(fn).formatArn({
    service: 'cloudwatch',
    resource: 'alarm',
    resourceName: `${VERSION_ALARM_PREFIX}${fn.functionName}-*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/**
 * GetMetricData (the evidence: requests per Lambda version), GetQueryResults and StopQuery (of a query the grantee
 * started on a log group it may query) have no resource-level permissions, so they need `*`
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html,
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html).
 */
export function grantReadMetrics(grantee: iam.IGrantable): void {
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['cloudwatch:GetMetricData', 'logs:GetQueryResults', 'logs:StopQuery'],
    resourceArns: ['*'],
  });
}

/** cdk-nag's name of the version-alarm ARN pattern of {@link versionAlarmsArn}, to acknowledge it. */
export function nagVersionAlarms(fn: lambda.IFunction): string {
  const stack = Stack.of(fn);
  // cdk-nag writes the stack's partition, region and account literally when they are known (the partition with
  // `@aws-cdk/core:enablePartitionLiterals` and a known region), as pseudo parameters otherwise.
  const partition = Token.isUnresolved(stack.partition) ? '<AWS::Partition>' : stack.partition;
  const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  return `Resource::arn:${partition}:cloudwatch:${region}:${account}:alarm:${VERSION_ALARM_PREFIX}${nagRef(fn)}-*`;
}
