/** The billed calls of one rollout-driver tick in which no rollout is in progress. */
export interface TickRequests {
  readonly s3Get: number;
  /** LIST and PUT requests (one S3 price tier). */
  readonly s3ListOrPut: number;
  /** CloudWatch API requests (DescribeAlarms and the like; Lambda's control-plane calls are not billed). */
  readonly cloudwatch: number;
}

/**
 * What one idle tick costs: once per driver (its lease: list the generations, read whether the newest was released,
 * write the next, list again, mark it released) and once per model (its rollout state: a listing of the model's
 * states and a read of the newest; its versions' alarms, for pruning). Measured by the tests against the embedded S3
 * server and the fake account (test/integration/aws-stack-deploy.test.ts), so a change of the driver that changes
 * them fails there until this is brought along.
 */
export const IDLE_TICK_REQUESTS: { readonly perDriver: TickRequests; readonly perModel: TickRequests } = {
  perDriver: { s3Get: 1, s3ListOrPut: 4, cloudwatch: 0 },
  perModel: { s3Get: 1, s3ListOrPut: 1, cloudwatch: 1 },
};
