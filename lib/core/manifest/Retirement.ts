import * as z from 'zod';
import { ModelNameSchema, ModelVersionSchema } from './ModelManifest.js';

/** Longest reason a retirement keeps: one readable line, as a rollback's. */
export const MAX_RETIREMENT_REASON_CHARS = 500;

/**
 * A retired version (`models/NAME/VERSION/retired.json`): who retired it, when and why. A retired version stays in
 * the registry, readable and servable by its explicit-version routes, but no rollout is started to it: `sluice
 * deploy`, `cdk deploy` and the local stack refuse it. Written once, like a manifest.
 */
export const RetirementSchema = z.strictObject({
  schemaVersion: z.literal(1),
  model: ModelNameSchema,
  version: ModelVersionSchema,
  retiredAt: z.string().datetime(),
  /** Who retired it: `cli`, ... */
  actor: z.string().min(1).max(64),
  reason: z.string().min(1).max(MAX_RETIREMENT_REASON_CHARS),
});
/** A version's retirement. */
export type Retirement = z.infer<typeof RetirementSchema>;
