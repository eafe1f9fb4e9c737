import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { LambdaClient } from '@aws-sdk/client-lambda';

/**
 * Attempts of each Lambda and CloudWatch call sluice's functions make (the SDK's standard retry mode: exponential
 * backoff with jitter, a longer base for throttling errors, a retry quota;
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html). Three, the SDK's default, is too few
 * for a multi-model deploy: Lambda's control-plane APIs share 15 requests per second per account, which cannot be
 * raised (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html#api-requests), and twenty
 * releases start at once. Eight attempts back off for up to about a minute in all, within the release's and the
 * driver's timeouts.
 */
export const CONTROL_PLANE_MAX_ATTEMPTS = 8;

/**
 * The configuration of a Lambda, CloudWatch or CloudWatch Logs client in one of sluice's functions.
 *
 * @example
 * const lambda = new LambdaClient(controlPlaneClientConfig(process.env.AWS_REGION));
 */
export function controlPlaneClientConfig(region: string | undefined): {
  readonly region: string | undefined;
  readonly maxAttempts: number;
  readonly retryMode: 'standard';
} {
  return { region, maxAttempts: CONTROL_PLANE_MAX_ATTEMPTS, retryMode: 'standard' };
}

/** The Lambda, CloudWatch and CloudWatch Logs clients of one of sluice's control-plane functions. */
export interface ControlPlaneClients {
  readonly lambda: LambdaClient;
  readonly cloudwatch: CloudWatchClient;
  readonly logs: CloudWatchLogsClient;
}

/**
 * The clients a control-plane function's entry builds at cold start, each with {@link controlPlaneClientConfig}.
 *
 * @example
 * const clients = createControlPlaneClients(process.env.AWS_REGION);
 */
export function createControlPlaneClients(region: string | undefined): ControlPlaneClients {
  const config = controlPlaneClientConfig(region);
  return {
    lambda: new LambdaClient(config),
    cloudwatch: new CloudWatchClient(config),
    logs: new CloudWatchLogsClient(config),
  };
}
