import * as z from 'zod';
import { TENSOR_DATATYPES } from '../tensor/datatypes.js';
import { TensorSpecSchema } from '../tensor/TensorSpec.js';

/** The manifest schema version this code writes and reads. */
export const MANIFEST_SCHEMA_VERSION = 1 as const;

/** The pattern every model name matches (checked on hot paths without zod). */
export const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,47}$/;

/** Model names: lowercase letters, digits, `-` and `_`; they appear in S3 keys, URLs and AWS resource names. */
export const ModelNameSchema = z
  .string()
  .regex(
    MODEL_NAME_PATTERN,
    'model names are 1-48 characters: a-z, 0-9, "-" and "_", starting with a letter or digit',
  );

/** Model versions: 1, 2, 3, ... */
export const ModelVersionSchema = z.number().int().positive();

/** Tensor data as a V2 client sends it: flat or nested; 64-bit integers may be decimal strings. */
const TensorDataSchema = z.array(z.unknown());

/** A V2 tensor with data, as used in golden examples. */
export const GoldenTensorSchema = z.object({
  name: z.string().min(1),
  shape: z.array(z.number().int().nonnegative()),
  datatype: z.enum(TENSOR_DATATYPES).optional(),
  data: TensorDataSchema,
});
/** A tensor of a golden example. */
export type GoldenTensor = z.infer<typeof GoldenTensorSchema>;

/** The tolerance used when a golden example does not give one. */
export const DEFAULT_GOLDEN_TOLERANCE = 1e-4;

/**
 * A known input with its expected outputs; run before a version gets traffic.
 * Numbers match when |actual - expected| <= tolerance * max(1, |expected|); other types match exactly.
 */
export const GoldenExampleSchema = z.object({
  inputs: z.array(GoldenTensorSchema).min(1),
  outputs: z.array(GoldenTensorSchema).min(1),
  tolerance: z.number().nonnegative().default(DEFAULT_GOLDEN_TOLERANCE),
});
/** A golden example. */
export type GoldenExample = z.infer<typeof GoldenExampleSchema>;

/**
 * One item of a reference input set: the inputs of one request as V2 tensors (datatype filled from the signature),
 * and, optionally, the class its answer should have (a label, or a class index), for the accuracy comparison.
 */
export const ReferenceItemSchema = z.strictObject({
  inputs: z.array(GoldenTensorSchema).min(1),
  expected: z.union([z.string().min(1), z.number().int().nonnegative()]).optional(),
});
/** One reference item. */
export type ReferenceItem = z.infer<typeof ReferenceItemSchema>;

/** What the manifest records of a reference set: its checksum, size and counts, and the classes the version gave it. */
export const ReferenceSetInfoSchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  items: z.number().int().positive(),
  /** Items with an expected class. */
  withExpected: z.number().int().nonnegative(),
  /**
   * Rows per class of the version's own answers to the set, computed at publish: the baseline its live answers'
   * drift is measured against. Absent when the model has no class output.
   */
  classes: z.record(z.string(), z.number().int().nonnegative()).optional(),
  /**
   * Per numeric output (float, other than the class output), the deciles of the values the version gave the set
   * and the values per bin, computed at publish: the baseline of that output's drift (see `valueHistogram`).
   */
  outputs: z
    .record(
      z.string(),
      z.object({
        edges: z.array(z.number()).max(64),
        counts: z.array(z.number().int().nonnegative()).min(1).max(65),
      }),
    )
    .optional(),
});
/** A reference set's record in the manifest. */
export type ReferenceSetInfo = z.infer<typeof ReferenceSetInfoSchema>;

/**
 * The manifest of one immutable model version, stored at `models/NAME/VERSION/manifest.json`.
 * Written last: a version exists only once its manifest does.
 */
export const ModelManifestSchema = z.object({
  schemaVersion: z.literal(MANIFEST_SCHEMA_VERSION),
  name: ModelNameSchema,
  version: ModelVersionSchema,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  createdAt: z.string().datetime(),
  inputs: z.array(TensorSpecSchema).min(1),
  outputs: z.array(TensorSpecSchema).min(1),
  labels: z.array(z.string()).min(1).optional(),
  goldenExamples: z.array(GoldenExampleSchema).optional(),
  description: z.string().max(4096).optional(),
  /** The version's reference input set (`reference.jsonl` beside the bytes), when one was published with it. */
  reference: ReferenceSetInfoSchema.optional(),
  /** ONNX metadata kept for operators: producer and opset. */
  onnx: z
    .object({
      irVersion: z.number().int().optional(),
      producerName: z.string().optional(),
      producerVersion: z.string().optional(),
      opsetVersion: z.number().int().optional(),
    })
    .optional(),
});
/** The manifest of one model version. */
export type ModelManifest = z.infer<typeof ModelManifestSchema>;

/**
 * The user-supplied extras a publish may carry (labels, golden examples, description). Strict: a misspelt key
 * (`"lables"`) is refused rather than silently dropped.
 */
export const PublishExtrasSchema = z.strictObject({
  labels: z.array(z.string()).min(1).optional(),
  goldenExamples: z.array(GoldenExampleSchema).optional(),
  description: z.string().max(4096).optional(),
});
/** Labels, golden examples and description given at publish time. */
export type PublishExtras = z.infer<typeof PublishExtrasSchema>;
