import * as z from 'zod';
import { ModelNameSchema } from '../manifest/ModelManifest.js';
import { RolloutPlanSchema } from './RolloutPlan.js';

/**
 * The properties of a model's release custom resource (`Custom::SluiceRelease`): what the model serves
 * (model version, sha256, the Lambda version CloudFormation published for the function's current code and
 * configuration) and how a change of it is rolled out. CloudFormation passes every property as a string.
 */
export const ReleasePropertiesSchema = z.object({
  /** The predict function's name. */
  FunctionName: z.string().min(1),
  Model: ModelNameSchema,
  /** The configured model version. */
  ModelVersion: z.string().regex(/^[1-9][0-9]*$/, 'must be a version number'),
  /** The configured sha256 of that version's bytes. */
  Sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
  /** The Lambda version CloudFormation published (`AWS::Lambda::Version`): sluice's code and the function's configuration. */
  LambdaVersion: z.string().regex(/^[1-9][0-9]*$/, 'must be a published Lambda version number'),
  /** The rollout plan, as JSON. */
  Plan: z.string().transform((text, context) => {
    const parsed = RolloutPlanSchema.safeParse(safeJson(text));
    if (!parsed.success) {
      context.addIssue({ code: 'custom', message: `is not a rollout plan: ${text}` });
      return z.NEVER;
    }
    return parsed.data;
  }),
  /** Provisioned concurrency on the alias; "0" for none. */
  ProvisionedConcurrency: z
    .string()
    .regex(/^[0-9]+$/)
    .default('0'),
});
/** A release's properties, parsed. */
export type ReleaseProperties = z.infer<typeof ReleasePropertiesSchema>;

/**
 * A CloudFormation custom resource request as the Provider framework hands it to `onEvent`: the fields AWS
 * documents for custom resource requests
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html): `RequestType`,
 * `ResourceProperties`, `OldResourceProperties` on Update, `PhysicalResourceId` on Update and Delete, and the ids.
 */
export const ReleaseEventSchema = z.discriminatedUnion('RequestType', [
  z.object({
    RequestType: z.literal('Create'),
    StackId: z.string(),
    RequestId: z.string(),
    LogicalResourceId: z.string(),
    ResourceType: z.string(),
    ResourceProperties: ReleasePropertiesSchema,
  }),
  z.object({
    RequestType: z.literal('Update'),
    StackId: z.string(),
    RequestId: z.string(),
    LogicalResourceId: z.string(),
    ResourceType: z.string(),
    PhysicalResourceId: z.string(),
    ResourceProperties: ReleasePropertiesSchema,
    OldResourceProperties: ReleasePropertiesSchema,
  }),
  z.object({
    RequestType: z.literal('Delete'),
    StackId: z.string(),
    RequestId: z.string(),
    LogicalResourceId: z.string(),
    ResourceType: z.string(),
    PhysicalResourceId: z.string(),
    // Not read: a Delete needs only the physical id, and its properties may be an older sluice's, which this
    // schema would refuse, failing the Delete and wedging the stack.
    ResourceProperties: z.unknown(),
  }),
]);
/** A custom resource request of a release. */
export type ReleaseEvent = z.infer<typeof ReleaseEventSchema>;

/** What `onEvent` did, carried to `isComplete` in the response's `Data` (the Provider framework merges it in). */
export const ReleaseAction = {
  /** The alias was created on the configured version: no rollout (Create). */
  CREATED: 'created',
  /** Nothing the model serves changed: no traffic moved. */
  NONE: 'none',
  /** A rollout was started (or resumed) and `isComplete` waits for its outcome. */
  ROLLOUT: 'rollout',
  /** The alias was deleted (Delete). */
  DELETED: 'deleted',
} as const;
/** One release action. */
export type ReleaseAction = (typeof ReleaseAction)[keyof typeof ReleaseAction];

/** The `Data` of `onEvent`'s response; CloudFormation attributes are strings. */
export const ReleaseDataSchema = z.object({
  Action: z.enum([ReleaseAction.CREATED, ReleaseAction.NONE, ReleaseAction.ROLLOUT, ReleaseAction.DELETED]),
  /** The model version rolled out. */
  Candidate: z.string().optional(),
  /** The Lambda version rolled out. */
  Build: z.string().optional(),
  /** When the rollout started (epoch ms): `isComplete` gives up at this plus ROLLOUT_WAIT_MS. */
  StartedAt: z
    .string()
    .regex(/^[0-9]+$/)
    .optional(),
  /** Why nothing moved, or what was started, in words. */
  Reason: z.string().optional(),
});
/** `onEvent`'s `Data`. */
export type ReleaseData = z.infer<typeof ReleaseDataSchema>;

/**
 * The event `isComplete` receives: the request, with the fields `onEvent` returned merged in. CDK's Provider
 * framework: "The input event to `isComplete` includes all request fields, combined with all fields returned from
 * `onEvent`" (https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.custom_resources-readme.html).
 */
export const ReleaseCompleteEventSchema = z.object({
  RequestType: z.enum(['Create', 'Update', 'Delete']),
  PhysicalResourceId: z.string(),
  // Read (against ReleasePropertiesSchema) only for a rollout: a Delete's may be an older sluice's.
  ResourceProperties: z.unknown(),
  Data: ReleaseDataSchema,
});
/** `isComplete`'s input. */
export type ReleaseCompleteEvent = z.infer<typeof ReleaseCompleteEventSchema>;

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
