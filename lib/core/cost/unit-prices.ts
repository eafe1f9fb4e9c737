/**
 * The list prices sluice's cost estimate assumes: US East (N. Virginia), on demand, before any free tier, as the
 * pricing pages below showed in December 2026. Prices differ by region and change: the estimate prints each one
 * with its page, so a reader can check it.
 */
export interface UnitPrice {
  readonly usd: number;
  /** What one `usd` buys, e.g. "per GB-second". */
  readonly per: string;
  readonly source: string;
}

const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';
const API_GATEWAY = 'https://aws.amazon.com/api-gateway/pricing/';
const CLOUDWATCH = 'https://aws.amazon.com/cloudwatch/pricing/';
const S3 = 'https://aws.amazon.com/s3/pricing/';

/** The prices, by what they price. */
export const UNIT_PRICES = {
  lambdaRequest: { usd: 0.2 / 1e6, per: 'request', source: LAMBDA },
  lambdaGbSecondX86: { usd: 0.0000166667, per: 'GB-second (x86_64)', source: LAMBDA },
  lambdaGbSecondArm: { usd: 0.0000133334, per: 'GB-second (arm64)', source: LAMBDA },
  /** Provisioned concurrency: the configured GB-seconds, whether used or not. */
  provisionedGbSecondX86: { usd: 0.0000041667, per: 'provisioned GB-second (x86_64)', source: LAMBDA },
  provisionedGbSecondArm: { usd: 0.0000033334, per: 'provisioned GB-second (arm64)', source: LAMBDA },
  restApiRequest: { usd: 3.5 / 1e6, per: 'REST API request', source: API_GATEWAY },
  /** The first 300 million a month; "requests are metered in 512 KB increments" (same page). */
  httpApiRequest: { usd: 1 / 1e6, per: 'HTTP API request (each 512 KB counts as one)', source: API_GATEWAY },
  /**
   * A function URL has no price of its own: its requests are the function's invocations, billed as Lambda requests
   * and duration (https://aws.amazon.com/lambda/pricing/ prices no URL; Lambda's guide calls URLs the option
   * "optimized for simplicity and cost-effectiveness",
   * https://docs.aws.amazon.com/lambda/latest/dg/furls-http-invoke-decision.html).
   */
  functionUrlRequest: { usd: 0, per: 'function URL request (billed as its invocation)', source: LAMBDA },
  /** HTTPS requests in the United States and Europe; data transfer out is not counted here. */
  cloudFrontRequest: {
    usd: 0.01 / 10_000,
    per: 'CloudFront HTTPS request (US, Europe)',
    source: 'https://aws.amazon.com/cloudfront/pricing/',
  },
  customMetric: { usd: 0.3, per: 'custom metric-month', source: CLOUDWATCH },
  /** A standard-resolution alarm is billed per metric it reads (metric math: each metric in it). */
  alarmMetric: { usd: 0.1, per: 'alarm metric-month', source: CLOUDWATCH },
  dashboard: { usd: 3, per: "dashboard-month (beyond the account's 3 free)", source: CLOUDWATCH },
  cloudwatchApiRequest: { usd: 0.01 / 1000, per: 'CloudWatch API request', source: CLOUDWATCH },
  logIngestionGb: { usd: 0.5, per: 'GB of logs ingested', source: CLOUDWATCH },
  kmsKey: { usd: 1, per: 'KMS key-month', source: 'https://aws.amazon.com/kms/pricing/' },
  schedulerInvocation: {
    usd: 1 / 1e6,
    per: 'EventBridge Scheduler invocation (beyond 14 million a month free)',
    source: 'https://aws.amazon.com/eventbridge/pricing/',
  },
  s3Get: { usd: 0.0004 / 1000, per: 'S3 GET', source: S3 },
  s3ListOrPut: { usd: 0.005 / 1000, per: 'S3 LIST or PUT', source: S3 },
  xrayTrace: { usd: 5 / 1e6, per: 'X-Ray trace recorded', source: 'https://aws.amazon.com/xray/pricing/' },
} as const satisfies Record<string, UnitPrice>;

/** One of {@link UNIT_PRICES}. */
export type PricedItem = keyof typeof UNIT_PRICES;
