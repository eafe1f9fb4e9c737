/**
 * How long `cdk deploy` can wait for a rollout, and how long a plan takes on AWS. Free of runtime imports: the
 * constructs (synth refuses plans that cannot finish in the wait), the custom resource's handlers and the target
 * use it.
 */
import { FULL_WEIGHT } from './plan-rollout.js';
import type { RolloutPlan } from './RolloutPlan.js';

/**
 * The custom resource's `ServiceTimeout`, in seconds: the most CloudFormation allows, "an integer from 1 to 3600.
 * The default value is 3600 seconds (1 hour)"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-customresource.html).
 */
export const CUSTOM_RESOURCE_SERVICE_TIMEOUT_SECONDS = 3600;

/**
 * The Provider framework's `totalTimeout`: 55 minutes. CDK documents "The maximum timeout is 1 hour"
 * (https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.custom_resources.ProviderProps.html), and the
 * ServiceTimeout above bounds the whole operation at the same hour; 5 minutes are left for `onEvent` (the golden
 * check invokes the new version, whose first request loads the model) and for reporting.
 */
export const PROVIDER_TOTAL_TIMEOUT_MS = 55 * 60_000;

/** The Provider framework's `queryInterval`: `isComplete` reads the rollout state once a minute. */
export const PROVIDER_QUERY_INTERVAL_MS = 60_000;

/**
 * The longest rollout `cdk deploy` waits for: 50 minutes after `onEvent` started it. At this deadline
 * `isComplete` rolls the rollout back itself and fails, so CloudFormation rolls the stack back onto a stable
 * version rather than timing out with a rollout still moving traffic.
 */
export const ROLLOUT_WAIT_MS = PROVIDER_TOTAL_TIMEOUT_MS - 5 * PROVIDER_QUERY_INTERVAL_MS;

/**
 * The rollout driver's schedule: EventBridge Scheduler invokes it every minute, `rate(1 minute)`. "All schedule
 * types on EventBridge Scheduler invoke their targets with 60 second precision"
 * (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html), so a tick may come up to a minute
 * late: one more minute per bake in {@link rolloutDurationMs}.
 */
export const DRIVER_INTERVAL_MS = 60_000;

/**
 * The rollout driver function's timeout: under a tick, and the length of its lease (`DriverLease`), since Lambda
 * stops an invocation at its timeout, a lease older than this has no live holder.
 */
export const DRIVER_TIMEOUT_MS = DRIVER_INTERVAL_MS - 5_000;

/**
 * How long Lambda's metrics (and the function's EMF metrics) may take to be complete in CloudWatch: 3 minutes.
 * Lambda sends metric data to CloudWatch in 1-minute intervals
 * (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics.html), so the minute being served is never
 * complete; AWS documents no upper bound for the delay after that, and two more minutes are sluice's margin.
 * The AWS target reports data as settled only up to now minus this, so the engine never promotes on requests
 * whose errors have not arrived yet.
 */
export const METRICS_SETTLE_MS = 3 * 60_000;

/**
 * How long a plan takes on AWS when the candidate gets its evidence in time: each bake (every step below 100 %;
 * an all-at-once plan's single step at 100 %) lasts its interval, then waits for its metrics to settle, then for
 * the driver's next tick; the step after the last bake is the promotion. A shadow phase adds at least its metrics
 * settling and a tick (how long it takes to compare enough answers depends on the traffic). Manual plans never end
 * on their own (Infinity). A step that lacks `minRequests` requests is extended, so this is a lower bound on a
 * quiet model.
 *
 * @example
 * rolloutDurationMs({ strategy: 'canary', steps: [10, 100], intervalMs: 300_000 }); // 1 * (5 + 3 + 1) min = 540_000
 */
export function rolloutDurationMs(plan: RolloutPlan): number {
  if (plan.strategy === 'manual') return Number.POSITIVE_INFINITY;
  const bakes = Math.max(1, plan.steps.filter((weight) => weight < FULL_WEIGHT).length);
  const shadow = (plan.shadowPercent ?? 0) > 0 ? METRICS_SETTLE_MS + DRIVER_INTERVAL_MS : 0;
  return shadow + bakes * (plan.intervalMs + METRICS_SETTLE_MS + DRIVER_INTERVAL_MS);
}
