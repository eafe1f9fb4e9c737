/**
 * Lambda entry of a model's CodeDeploy BeforeAllowTraffic hook: runs the target version's golden examples
 * against it and reports Succeeded or Failed (see lib/deploy/pre-traffic-check.ts).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { Context } from 'aws-lambda';
import { readHookConfig } from '../../lib/deploy/hook-config.js';
import { LifecycleHookEventSchema } from '../../lib/deploy/lifecycle-hook-event.js';
import {
  type PreTrafficCheckResult,
  REPORT_RESERVE_MS,
  runPreTrafficCheck,
} from '../../lib/deploy/pre-traffic-check.js';
import { METRICS_SERVICE } from '../../lib/observability/metric-names.js';
import { ModelRegistry } from '../../lib/registry/ModelRegistry.js';
import { createS3Client } from '../../lib/serving/create-s3-client.js';

const config = readHookConfig(process.env);
const deps = {
  codedeploy: new CodeDeployClient({ region: config.region }),
  lambda: new LambdaClient({ region: config.region }),
  registry: new ModelRegistry({
    client: createS3Client({ region: config.region, endpoint: config.s3Endpoint }),
    bucket: config.bucket,
  }),
  logger: new Logger({ serviceName: METRICS_SERVICE, persistentKeys: { hook: 'pre-traffic' } }),
};

/**
 * The handler CodeDeploy invokes (asynchronously). It returns normally whatever the verdict, since the
 * verdict goes to CodeDeploy; a throw would make Lambda retry and report a second time.
 */
export async function handler(
  event: unknown,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<PreTrafficCheckResult> {
  const hook = LifecycleHookEventSchema.parse(event);
  const abortSignal = context
    ? AbortSignal.timeout(Math.max(0, context.getRemainingTimeInMillis() - REPORT_RESERVE_MS))
    : undefined;
  return runPreTrafficCheck(
    {
      deploymentId: hook.DeploymentId,
      hookExecutionId: hook.LifecycleEventHookExecutionId,
      ...(abortSignal ? { abortSignal } : {}),
    },
    deps,
  );
}
