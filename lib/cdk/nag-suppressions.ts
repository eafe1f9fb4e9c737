import { CfnResource, Names, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** One accepted cdk-nag finding and why it is accepted. */
export interface Acceptance {
  /** Rule id, with the finding in brackets for rules that report several (e.g. `AwsSolutions-IAM5[Resource::*]`). */
  readonly id: string;
  readonly reason: string;
}

/**
 * Records cdk-nag (AwsSolutions) findings sluice accepts on a construct, each with its reason.
 * cdk-nag 3 acknowledges findings one by one (no prefix matching), so every wildcard is named.
 */
export function acceptFindings(scope: IConstruct, ...findings: Acceptance[]): void {
  Validations.of(scope).acknowledge(
    ...findings.map((finding) => ({ ...finding, id: `AwsSolutions::${finding.id}` })),
  );
}

/**
 * The form cdk-nag uses to name a resource's ARN inside a finding: `<LogicalId.Arn>` in the resource's own stack;
 * seen `from` a nested stack, the parameter CDK passes the ARN in, `<referenceto<unique id of the resource>Arn>`.
 */
export function nagArn(resource: IConstruct, from?: IConstruct): string {
  const cfn = resource instanceof CfnResource ? resource : resource.node.defaultChild;
  if (!(cfn instanceof CfnResource)) throw new Error(`${resource.node.path} has no CloudFormation resource`);
  const stack = Stack.of(cfn);
  const logicalId = stack.resolve(stack.getLogicalId(cfn));
  if (from !== undefined && Stack.of(from) !== stack)
    return `<referenceto${Names.nodeUniqueId(cfn.node)}Arn>`;
  return `<${logicalId}.Arn>`;
}

/** The `<LogicalId>` form cdk-nag uses to name a resource's `Ref` inside a finding. */
export function nagRef(resource: IConstruct): string {
  return nagArn(resource).replace(/\.Arn>$/, '>');
}

/** Reasons that several constructs share, written once. */
export const NagReason = {
  BASIC_EXECUTION_ROLE:
    'AWSLambdaBasicExecutionRole lets the function write its own CloudWatch logs and nothing else; it is the AWS managed policy made for that.',
  XRAY: 'Active tracing: X-Ray PutTraceSegments/PutTelemetryRecords have no resource ARN, so they take Resource "*".',
  MODEL_OBJECTS:
    'Reads objects of one model only: the models/<model>/ prefix of the registry bucket, where every version of that model lives.',
  ALL_MODEL_OBJECTS:
    "Reads (never writes) every model of this stack's registry: the models/ prefix, where the manifests with the golden examples and sha256 of the versions it rolls out live.",
  QUALIFIED_ARNS:
    'Scoped to one function; ":*" covers its versions, because the version under test is only known at deployment time.',
  CONTROL_PLANE_VERSIONS:
    'sluice\'s control plane acts on the published versions and the live alias of this model\'s function only: ":*" covers its qualified ARNs, which are created at run time.',
  ROLLOUT_STATES:
    'Reads and writes rollout states only: the rollouts/ prefix of the registry bucket, one object per revision of each model.',
  GET_METRIC_DATA:
    'cloudwatch:GetMetricData and logs:GetQueryResults have no resource-level permissions; they read the requests each Lambda version served and the classes it answered (the evidence a rollout step needs).',
  VERSION_ALARMS:
    "The version alarms of this model's function only (sluice-<function>-<version>-<kind>): created, read and deleted as versions come and go.",
  NO_COGNITO:
    'sluice authenticates clients with IAM (SigV4) by default, or with an API key and a usage plan, per the config; it has no Cognito user pool (a JWT authorizer comes with the HTTP API front door).',
} as const;
