import * as z from 'zod';
import { DEFAULT_BATCH_ROWS, MAX_BATCH_ROWS } from '../batch/batch-items.js';
import { CorsSettingsSchema } from '../contract/cors.js';
import { describeIssues } from '../errors/describe-issues.js';
import { SluiceError } from '../errors/SluiceError.js';
import { ModelNameSchema } from '../manifest/ModelManifest.js';
import { ConfiguredAlarmThresholdsSchema } from './alarm-thresholds.js';

/** The config file the CDK app reads when the `sluiceConfig` context value does not name another. */
export const DEFAULT_DEPLOY_CONFIG_FILE = 'sluice.config.json';

/** Named rollouts (the names CodeDeploy gave its predefined Lambda configurations), run by sluice's engine. */
export const RolloutPreset = {
  ALL_AT_ONCE: 'all-at-once',
  CANARY_10_PERCENT_5_MINUTES: 'canary-10-percent-5-minutes',
  CANARY_10_PERCENT_10_MINUTES: 'canary-10-percent-10-minutes',
  CANARY_10_PERCENT_15_MINUTES: 'canary-10-percent-15-minutes',
  CANARY_10_PERCENT_30_MINUTES: 'canary-10-percent-30-minutes',
  LINEAR_10_PERCENT_EVERY_1_MINUTE: 'linear-10-percent-every-1-minute',
  LINEAR_10_PERCENT_EVERY_2_MINUTES: 'linear-10-percent-every-2-minutes',
  LINEAR_10_PERCENT_EVERY_3_MINUTES: 'linear-10-percent-every-3-minutes',
  LINEAR_10_PERCENT_EVERY_10_MINUTES: 'linear-10-percent-every-10-minutes',
} as const;
/** A predefined rollout. */
export type RolloutPreset = (typeof RolloutPreset)[keyof typeof RolloutPreset];

/** Requests the candidate must answer in each step before the clock takes the next one (evidence). */
const MinRequestsSchema = z.number().int().min(0).max(1_000_000).optional();

/**
 * Percent of the live requests the candidate also answers, unseen, before it gets any traffic (the shadow phase);
 * 0 turns it off. Default: DEFAULT_SHADOW_PERCENT (10), as `sluice deploy`.
 */
const ShadowPercentSchema = z.number().min(0).max(100).optional();

/** The behaviour gates of a model's rollouts; absent keys take the engine's defaults (README "Behaviour gates"). */
export const RolloutGatesSchema = z
  .strictObject({
    /** Share of answers the candidate may give otherwise than the stable version (0.02: 2 %). */
    tolerance: z.number().gt(0).lt(1).optional(),
    /** Error rate of each behaviour test. */
    alpha: z.number().gt(0).lt(0.5).optional(),
    /** Fewest compared requests before the shadow phase may pass. */
    minCompared: z.number().int().min(0).optional(),
    /** Most compared requests of an undecided shadow phase before it waits for a person. */
    maxCompared: z.number().int().positive().optional(),
    /** Longest undecided shadow phase, in minutes, before it waits for a person. */
    maxShadowMinutes: z
      .number()
      .int()
      .positive()
      .max(7 * 24 * 60)
      .optional(),
    /** Relative tolerance of numeric outputs other than class scores. */
    numericTolerance: z.number().min(0).optional(),
    /** A passed replay of the reference sets stands in for live evidence, so a quiet model's deploy can finish. */
    replayStandsIn: z.boolean().optional(),
    /** How much lower than the stable version's the candidate's accuracy on the reference sets may be. */
    accuracyMargin: z.number().min(0).max(1).optional(),
  })
  .optional();
/** The behaviour gates of a model's rollouts, as the config states them. */
export type RolloutGates = z.infer<typeof RolloutGatesSchema>;

/** What every rollout takes besides its strategy: the evidence, the shadow share and the behaviour gates. */
const RolloutCommonShape = {
  minRequests: MinRequestsSchema,
  shadowPercent: ShadowPercentSchema,
  gates: RolloutGatesSchema,
  /**
   * Minutes the version alarms still judge the new stable version after the promotion, reverting it on a breach
   * (0: none; at most a day). @default 10
   */
  watchMinutes: z.number().int().min(0).max(1440).optional(),
};

/**
 * How `cdk deploy` rolls a changed model out through sluice's engine: a preset, or a custom canary or linear
 * plan; `minRequests` (default 20) is the evidence each step needs before the clock takes the next one;
 * `shadowPercent` (default 10) the shadow phase's share, `gates` the behaviour gates' settings and `watchMinutes`
 * (default 10) the watch window after the promotion.
 */
export const RolloutSchema = z.discriminatedUnion('strategy', [
  z.strictObject({
    strategy: z.literal('preset'),
    preset: z.enum(Object.values(RolloutPreset) as [RolloutPreset, ...RolloutPreset[]]),
    ...RolloutCommonShape,
  }),
  z.strictObject({
    strategy: z.literal('canary'),
    /** Share of traffic the new version gets first, in percent. */
    percentage: z.number().int().min(1).max(99),
    /** Minutes before the rest shifts. */
    intervalMinutes: z.number().int().min(1).max(2880),
    ...RolloutCommonShape,
  }),
  z.strictObject({
    strategy: z.literal('linear'),
    /** Share added at each step, in percent. */
    percentage: z.number().int().min(1).max(99),
    /** Minutes between steps. */
    intervalMinutes: z.number().int().min(1).max(2880),
    ...RolloutCommonShape,
  }),
  z.strictObject({
    strategy: z.literal('all-at-once'),
    /** Minutes the candidate bakes at 100 % before it is promoted. */
    intervalMinutes: z.number().int().min(0).max(2880).optional(),
    ...RolloutCommonShape,
  }),
]);
/** A rollout policy. */
export type Rollout = z.infer<typeof RolloutSchema>;

/** Lambda architectures sluice packages onnxruntime for. */
export const Architecture = { X86_64: 'x86_64', ARM64: 'arm64' } as const;
/** A Lambda architecture. */
export type Architecture = (typeof Architecture)[keyof typeof Architecture];

/** A model group's name: it names a nested stack, so short, lower-case letters, digits and "-". */
export const ModelGroupNameSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{0,19}$/,
    'group names are 1-20 characters: a-z, 0-9 and "-", starting with a letter',
  );

/** Most provisioned concurrency one alias may be given or scaled to. */
export const MAX_PROVISIONED_CONCURRENCY = 1000;

/** The utilisation of provisioned concurrency that target tracking keeps when none is configured. */
export const DEFAULT_PROVISIONED_UTILIZATION = 0.7;

/**
 * Provisioned concurrency that follows the load: Application Auto Scaling target tracking on the alias's
 * `ProvisionedConcurrencyUtilization`, between `min` and `max` environments.
 */
export const ProvisionedConcurrencyScalingSchema = z
  .strictObject({
    min: z.number().int().min(1).max(MAX_PROVISIONED_CONCURRENCY),
    max: z.number().int().min(1).max(MAX_PROVISIONED_CONCURRENCY),
    /** Share of the provisioned environments in use that scaling keeps (0.1 to 0.9). */
    targetUtilization: z.number().min(0.1).max(0.9).default(DEFAULT_PROVISIONED_UTILIZATION),
  })
  .refine((scaling) => scaling.max >= scaling.min, { message: 'max must be at least min', path: ['max'] });
/** Provisioned concurrency scaling of one model. */
export type ProvisionedConcurrencyScaling = z.infer<typeof ProvisionedConcurrencyScalingSchema>;

/**
 * Most batches of a `sluice batch` run scored at once: Distributed Map's child executions run up to 10,000 in
 * parallel (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html); each batch is one
 * invocation of the model's function, sharing the account's Lambda concurrency with live traffic.
 */
export const MAX_BATCH_CONCURRENCY = 1000;

/**
 * A model's batch scoring (`sluice batch` on AWS): a Step Functions state machine with a Distributed Map over JSON
 * lines or CSV objects under `batch/MODEL/input/` of the registry bucket. Off unless given.
 */
export const BatchScoringSchema = z.strictObject({
  /**
   * Batches in flight at once: each is one invocation of the model's function, so this many of the account's
   * concurrent executions (1,000 by default, as few as 10 on a new account) can go to batch work at a time.
   */
  maxConcurrency: z.number().int().min(1).max(MAX_BATCH_CONCURRENCY).default(10),
  /** Rows per batch (one session.run); a batch's items are also capped at 256 KiB, Step Functions' payload limit. */
  batchRows: z.number().int().min(1).max(MAX_BATCH_ROWS).default(DEFAULT_BATCH_ROWS),
  /**
   * Share of rows (percent) that may be in failed batches with the run still succeeding (Step Functions counts items,
   * a failed batch all its items); failed rows are listed either way.
   */
  toleratedFailurePercent: z.number().min(0).max(100).default(0),
});
/** A model's batch scoring settings. */
export type BatchScoring = z.infer<typeof BatchScoringSchema>;

/** One model to deploy: the version its `live` alias serves and how it gets there. */
export const ModelDeploymentSchema = z
  .strictObject({
    name: ModelNameSchema,
    /** Registry version to serve. */
    version: z.number().int().positive(),
    /** sha256 from that version's manifest (`sluice show NAME --version N`); the function refuses other bytes. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be the 64 hex digits of the manifest sha256'),
    memoryMb: z.number().int().min(128).max(10240).default(1024),
    /**
     * The predict function's timeout. API Gateway gives a REST integration at most 29 s
     * (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html); at 28 s the function ends first, so
     * a request that runs out of time is a Lambda timeout (an `Errors` datapoint the version's alarms and the
     * rollout see, and a 502) instead of a gateway 504 with the function still running and billed.
     */
    timeoutSeconds: z.number().int().min(1).max(29).default(28),
    architecture: z.enum([Architecture.X86_64, Architecture.ARM64]).default(Architecture.X86_64),
    rollout: RolloutSchema.default({ strategy: 'preset', preset: RolloutPreset.CANARY_10_PERCENT_5_MINUTES }),
    alarms: ConfiguredAlarmThresholdsSchema.prefault({}),
    /** Provisioned concurrency on the `live` alias; 0 for none. */
    provisionedConcurrency: z.number().int().min(0).max(MAX_PROVISIONED_CONCURRENCY).default(0),
    /** Provisioned concurrency scaled with the load, instead of a fixed `provisionedConcurrency`. @default none */
    provisionedConcurrencyScaling: ProvisionedConcurrencyScalingSchema.optional(),
    /**
     * The model group (a nested stack of its own) the model is deployed in; absent: the main stack. A stack holds
     * at most `MAX_MODELS_PER_STACK` models (lib/cdk/model-group.ts). Set it when a model is added; moving a
     * deployed model to another group replaces its function and routes (remove it in one deploy, add it in the next).
     */
    group: ModelGroupNameSchema.optional(),
    /** Batch scoring on Step Functions (`sluice batch`). @default none */
    batch: BatchScoringSchema.optional(),
  })
  .refine(
    (model) => model.provisionedConcurrencyScaling === undefined || model.provisionedConcurrency === 0,
    {
      message:
        'give either provisionedConcurrency (fixed) or provisionedConcurrencyScaling (min, max), not both',
      path: ['provisionedConcurrencyScaling'],
    },
  );
/** One model deployment. */
export type ModelDeployment = z.infer<typeof ModelDeploymentSchema>;

/**
 * API authentication: IAM (SigV4, the default), an API key with a usage plan that has a quota (REST only), a JWT
 * authorizer (HTTP API only), or none (written out). API Gateway advises against API keys as the only means of authentication: they identify and meter callers
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html).
 */
export const AuthMode = { IAM: 'iam', API_KEY: 'api-key', JWT: 'jwt', NONE: 'none' } as const;
/** An API authentication mode. */
export type AuthMode = (typeof AuthMode)[keyof typeof AuthMode];

/**
 * The front door clients call: API Gateway's REST API (the default), its HTTP API, or one Lambda function URL per
 * model. README "Front doors" says what each carries of the HTTP contract and what it costs.
 */
export const FrontDoorKind = { REST: 'rest', HTTP: 'http', FUNCTION_URL: 'function-url' } as const;
/** A front door. */
export type FrontDoorKind = (typeof FrontDoorKind)[keyof typeof FrontDoorKind];

/**
 * The authentication each door can carry. REST: IAM, an API key with its usage plan, or none (API keys and usage
 * plans are REST API features: https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html).
 * HTTP API: IAM or a JWT authorizer
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control.html). Function URL: `AWS_IAM`
 * or `NONE`, nothing else (https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html).
 */
export const AUTH_OF_DOOR = {
  rest: [AuthMode.IAM, AuthMode.API_KEY, AuthMode.NONE],
  http: [AuthMode.IAM, AuthMode.JWT, AuthMode.NONE],
  'function-url': [AuthMode.IAM, AuthMode.NONE],
} as const satisfies Record<FrontDoorKind, readonly AuthMode[]>;

/**
 * An HTTP API's JWT authorizer: API Gateway validates the token's signature against the issuer's JWKS, its `iss`,
 * its `aud` (or `client_id`) against `audience`, and its `exp`/`nbf`/`iat`
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html).
 */
export const JwtSettingsSchema = z.strictObject({
  /** The token issuer: an https URL (an OIDC provider's, e.g. `https://cognito-idp.REGION.amazonaws.com/POOL_ID`). */
  issuer: z.url({ protocol: /^https$/, error: 'must be the https URL of the token issuer' }),
  /** Accepted audiences (`aud` or `client_id` claims); at least one, at most 50 per authorizer. */
  audience: z.array(z.string().min(1)).min(1).max(50),
  /**
   * Authorization scopes every route demands: a token passes when its `scope` (or `scp`) claim holds at least one of
   * them (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html). Absent: any
   * valid token of an accepted audience passes.
   */
  scopes: z.array(z.string().min(1).regex(/^\S+$/, 'a scope has no spaces')).min(1).optional(),
});
/** JWT authorizer settings. */
export type JwtSettings = z.infer<typeof JwtSettingsSchema>;

/** The periods a usage plan's quota counts over (QuotaSettings: https://docs.aws.amazon.com/apigateway/latest/api/API_QuotaSettings.html). */
export const QuotaPeriod = { DAY: 'DAY', WEEK: 'WEEK', MONTH: 'MONTH' } as const;
/** A usage plan quota's period. */
export type QuotaPeriod = (typeof QuotaPeriod)[keyof typeof QuotaPeriod];

/**
 * The API key's usage plan quota: at most `limit` requests with the key per `period` (DAY, WEEK or MONTH, the
 * periods API Gateway accepts). At least 1: CDK writes a limit of 0 as no quota at all.
 */
export const UsagePlanQuotaSchema = z.strictObject({
  limit: z.number().int().min(1),
  period: z.enum([QuotaPeriod.DAY, QuotaPeriod.WEEK, QuotaPeriod.MONTH]),
});
/** A usage plan quota. */
export type UsagePlanQuota = z.infer<typeof UsagePlanQuotaSchema>;

/**
 * Keys of `api` that earlier sluice releases had: named as if they limited the stage, they set API Gateway's default
 * method throttling, which every method of the stage applies on its own
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html). Refused,
 * naming the replacement.
 */
export const LEGACY_API_KEYS = {
  throttleRateLimit: 'methodRateLimit (the steady rate each method of the stage allows on its own)',
  throttleBurstLimit: 'methodBurstLimit (the burst each method of the stage allows on its own)',
} as const;

/** The region of an ACM certificate's ARN (`arn:aws:acm:REGION:ACCOUNT:certificate/ID`). */
export function certificateRegion(certificateArn: string): string {
  return certificateArn.split(':')[3] ?? '';
}

/**
 * A custom domain for the API: its host name and the ACM certificate that covers it. API Gateway's regional
 * custom domains (`rest`, `http`) take a certificate in the API's own region
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-regional-api-custom-domain-create.html);
 * CloudFront (`function-url` with `cloudFront`) one in US East (N. Virginia), us-east-1
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-and-https-requirements.html). The DNS
 * record (a CNAME or a Route 53 alias to the stack's `DomainTarget` output) is the user's.
 */
export const CustomDomainSchema = z.strictObject({
  /** The host name clients call, e.g. `api.example.com`. */
  name: z
    .string()
    .max(253)
    .regex(
      /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
      'must be a lower-case host name such as api.example.com',
    ),
  /** The ACM certificate covering `name`. */
  certificateArn: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/,
      'must be an ACM certificate ARN, arn:aws:acm:REGION:ACCOUNT:certificate/ID',
    ),
});
/** A custom domain. */
export type CustomDomain = z.infer<typeof CustomDomainSchema>;

/** The region CloudFront reads its viewer certificates from. */
export const CLOUDFRONT_CERTIFICATE_REGION = 'us-east-1';

const ApiShape = z
  .strictObject({
    /** The front door: `rest` (default), `http` or `function-url`. */
    door: z
      .enum([FrontDoorKind.REST, FrontDoorKind.HTTP, FrontDoorKind.FUNCTION_URL])
      .default(FrontDoorKind.REST),
    auth: z.enum([AuthMode.IAM, AuthMode.API_KEY, AuthMode.JWT, AuthMode.NONE]).default(AuthMode.IAM),
    /** The API key's usage plan quota; required with `api-key` auth, refused otherwise. */
    quota: UsagePlanQuotaSchema.optional(),
    /** The JWT authorizer's issuer and audiences; required with `jwt` auth, refused otherwise. */
    jwt: JwtSettingsSchema.optional(),
    /**
     * With door `function-url`: a CloudFront distribution with origin access control in front of the URLs, one host
     * for every model, open to viewers (so `auth` must be `none`; the URLs stay `AWS_IAM`).
     */
    cloudFront: z.boolean().default(false),
    /**
     * Which web pages may call the API from a browser: off unless given. The door answers preflights (API Gateway,
     * a function URL), and the local stack applies the same settings (README "CORS").
     */
    cors: CorsSettingsSchema.optional(),
    /** A custom domain for the door (REST and HTTP APIs: a regional domain name; function URLs: through CloudFront). */
    domain: CustomDomainSchema.optional(),
    /**
     * Steady-state requests per second that each method of the stage allows on its own (API Gateway's default method
     * throttling): a model's V2 routes, its simple-form routes and the server routes each have this rate, within the
     * account's limit across all APIs. With `api-key` auth, the usage plan throttles the key at it too, all methods
     * together.
     */
    methodRateLimit: z.number().int().min(1).default(100),
    /** The burst each method of the stage allows on its own (and the API key's, all methods together). */
    methodBurstLimit: z.number().int().min(1).default(200),
  })
  .superRefine((api, context) => {
    const carried: readonly AuthMode[] = AUTH_OF_DOOR[api.door];
    if (!carried.includes(api.auth))
      context.addIssue({
        code: 'custom',
        path: ['auth'],
        message:
          `"${api.auth}" is not an authentication the "${api.door}" door can carry; it carries ${carried.map((auth) => `"${auth}"`).join(', ')}` +
          (api.auth === AuthMode.API_KEY
            ? ' (API keys and usage plans exist on REST APIs only)'
            : api.auth === AuthMode.JWT
              ? ' (JWT authorizers are an HTTP API feature: use door "http")'
              : ''),
      });
    if (api.cloudFront && api.door !== FrontDoorKind.FUNCTION_URL)
      context.addIssue({
        code: 'custom',
        path: ['cloudFront'],
        message: `puts CloudFront in front of function URLs, and the door is "${api.door}"`,
      });
    if (api.cloudFront && api.door === FrontDoorKind.FUNCTION_URL && api.auth !== AuthMode.NONE)
      context.addIssue({
        code: 'custom',
        path: ['auth'],
        message:
          'CloudFront does not authenticate its viewers: with cloudFront the door is open, so write auth "none" (the URLs stay AWS_IAM, invocable by the distribution only)',
      });
    if (api.domain && api.door === FrontDoorKind.FUNCTION_URL && !api.cloudFront)
      context.addIssue({
        code: 'custom',
        path: ['domain'],
        message:
          'a function URL has no custom domain of its own (its host is <id>.lambda-url.<region>.on.aws): set "cloudFront": true for one host with your domain, or use door "rest" or "http"',
      });
    if (
      api.domain &&
      api.cloudFront &&
      certificateRegion(api.domain.certificateArn) !== CLOUDFRONT_CERTIFICATE_REGION
    )
      context.addIssue({
        code: 'custom',
        path: ['domain', 'certificateArn'],
        message: `CloudFront reads viewer certificates from ${CLOUDFRONT_CERTIFICATE_REGION} only; this one is in ${certificateRegion(api.domain.certificateArn)} (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-and-https-requirements.html)`,
      });
    if (api.auth === AuthMode.JWT && api.jwt === undefined)
      context.addIssue({
        code: 'custom',
        path: ['jwt'],
        message:
          'jwt auth needs its authorizer, e.g. {"issuer": "https://cognito-idp.eu-west-1.amazonaws.com/POOL_ID", "audience": ["CLIENT_ID"]}',
      });
    if (api.auth !== AuthMode.JWT && api.jwt !== undefined)
      context.addIssue({
        code: 'custom',
        path: ['jwt'],
        message: `is the JWT authorizer's settings, and auth "${api.auth}" has none`,
      });
    if (api.auth === AuthMode.API_KEY && api.quota === undefined)
      context.addIssue({
        code: 'custom',
        path: ['quota'],
        message:
          'api-key auth needs its usage plan quota, e.g. {"limit": 100000, "period": "DAY"}: a key identifies and meters callers, it does not authenticate them (README "Security defaults"; "iam" is the default)',
      });
    if (api.auth !== AuthMode.API_KEY && api.quota !== undefined)
      context.addIssue({
        code: 'custom',
        path: ['quota'],
        message: `is the API key's usage plan quota, and auth "${api.auth}" has no key`,
      });
  });

/** The API's front door settings: who may call it, and how fast; refuses the legacy keys ({@link LEGACY_API_KEYS}). */
export const ApiSchema = z
  .unknown()
  .superRefine((raw, context) => {
    if (raw === null || typeof raw !== 'object') return;
    for (const [key, replacement] of Object.entries(LEGACY_API_KEYS)) {
      if (key in raw)
        context.addIssue({
          code: 'custom',
          path: [key],
          message: `limits each method of the stage, not the stage, and is renamed ${replacement}; see "Throttling" in the README`,
        });
    }
    // A function URL has no throttle of its own: reserved concurrency is its only limit
    // (https://docs.aws.amazon.com/lambda/latest/dg/urls-configuration.html#urls-throttling).
    if ('door' in raw && raw.door === FrontDoorKind.FUNCTION_URL) {
      for (const key of ['methodRateLimit', 'methodBurstLimit']) {
        if (key in raw)
          context.addIssue({
            code: 'custom',
            path: [key],
            message:
              'a function URL has no request throttle (only the function\'s reserved concurrency limits it); remove it, or use door "rest" or "http"',
          });
      }
    }
  })
  .pipe(ApiShape);
/** The API's settings. */
export type ApiSettings = z.infer<typeof ApiSchema>;

/** The whole deployment: registry, API and the models. */
export const DeployConfigSchema = z.strictObject({
  /** Stack name. */
  stackName: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/)
    .default('Sluice'),
  registry: z
    .strictObject({
      /** Days noncurrent object versions are kept before S3 deletes them. */
      noncurrentVersionDays: z.number().int().min(1).max(3650).default(30),
      /** Keep the bucket and key when the stack is deleted. */
      retainOnDelete: z.boolean().default(true),
    })
    .default({ noncurrentVersionDays: 30, retainOnDelete: true }),
  api: ApiSchema.prefault({}),
  /** E-mail address subscribed to the alarm topic. */
  alarmEmail: z.email().optional(),
  /**
   * X-Ray active tracing of the predict functions and the REST API's stage. Off by default: at X-Ray's default
   * sampling (the first request each second, then 5 %, https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html)
   * a service of a few requests a second traces nearly every one, 5 USD per million
   * (https://aws.amazon.com/xray/pricing/), more than the rest of a small model's requests together (`sluice cost`).
   * Turning it on or off changes each function's configuration, so the next deploy publishes a Lambda version and
   * rolls it out.
   */
  tracing: z.boolean().default(false),
  /**
   * The account's quotas that synth checks the app against, as AWS sets them by default; raise one here once AWS
   * has raised it for you (Service Quotas).
   */
  quotas: z
    .strictObject({
      /**
       * API Gateway "Resources per API" (default 300, adjustable per API:
       * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html).
       */
      apiResourcesPerApi: z.number().int().min(1).max(10_000).default(300),
      /**
       * IAM "Managed policies per role" (default 10, adjustable to 20:
       * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
       */
      managedPoliciesPerRole: z.number().int().min(1).max(20).default(10),
    })
    .default({ apiResourcesPerApi: 300, managedPoliciesPerRole: 10 }),
  models: z.array(ModelDeploymentSchema).default([]),
});
/** The deployment configuration. */
export type DeployConfig = z.infer<typeof DeployConfigSchema>;

/** The config file is missing, not JSON, or has a bad value; the message names the field and the value. */
export class DeployConfigError extends SluiceError {}

/**
 * Parses a deployment configuration, naming the field and the value it got on the first problem.
 *
 * @example
 * const config = parseDeployConfig(JSON.parse(text), 'sluice.config.json');
 */
export function parseDeployConfig(raw: unknown, source: string): DeployConfig {
  const parsed = DeployConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new DeployConfigError(
      `${source} is invalid:\n  ${describeIssues(parsed.error, { input: raw, separator: '\n  ' })}`,
    );
  }
  const names = parsed.data.models.map((model) => model.name);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate)
    throw new DeployConfigError(
      `${source} is invalid:\n  models: "${duplicate}" is listed twice; got ${JSON.stringify(names)}`,
    );
  return parsed.data;
}
