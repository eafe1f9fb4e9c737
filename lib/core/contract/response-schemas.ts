import * as z from 'zod';
import { TensorSpecSchema } from '../tensor/TensorSpec.js';

/** The error body of every refusal and failure of the HTTP contract. */
export const ErrorBodySchema = z.object({ error: z.string() }).meta({
  description: 'What was wrong (a 4xx names the bad part of the request; a 503 says what cannot be reached)',
});

/** A tensor of V2 model metadata: name, datatype and shape (-1 for a dynamic dimension). */
const TensorMetadataSchema = TensorSpecSchema.pick({ name: true, datatype: true, shape: true });

/** `GET /v2`: the server's name, version and the V2 extensions it serves. */
export const ServerMetadataResponseSchema = z.object({
  name: z.string(),
  version: z.string(),
  extensions: z.array(z.string()),
});

/** `GET /v2/models/{m}`: V2 model metadata, with sluice's own details of the version under `sluice`. */
export const ModelMetadataResponseSchema = z.object({
  name: z.string(),
  versions: z.array(z.string()),
  platform: z.string(),
  inputs: z.array(TensorMetadataSchema),
  outputs: z.array(TensorMetadataSchema),
  sluice: z.object({
    version: z.string(),
    sha256: z.string(),
    size: z.number().int().nonnegative(),
    createdAt: z.string(),
    labels: z.array(z.string()).optional(),
    description: z.string().optional(),
    goldenExamples: z.number().int().nonnegative(),
  }),
});

/** `GET /v2/models/{m}/ready`: the version that answers, loaded. */
export const ModelReadyResponseSchema = z.object({
  name: z.string(),
  version: z.string(),
  ready: z.literal(true),
});

/** A V2 inference response (`POST /v2/models/{m}/infer`), outputs as JSON data. */
export const InferResponseSchema = z.object({
  model_name: z.string(),
  model_version: z.string(),
  id: z.string().optional(),
  outputs: z.array(
    z.object({
      name: z.string(),
      datatype: z.string(),
      shape: z.array(z.number()),
      data: z.array(z.unknown()).optional(),
      parameters: z.looseObject({}).optional(),
    }),
  ),
});
/** A V2 inference response. */
export type InferResponse = z.infer<typeof InferResponseSchema>;

/** The simple form's answer (`POST /models/{m}/predict`): per row, or per output, with class labels where known. */
export const PredictResponseSchema = z.object({
  model: z.string(),
  version: z.number().int().positive(),
  predictions: z.unknown(),
});
