import * as z from 'zod';
import { MAX_INPUT_TENSORS, MAX_REQUEST_BYTES, MAX_REQUEST_ID_LENGTH } from './limits.js';

/** Longest object reference an input may name, in characters (sluice's are 81: a model name, `/`, 32 hex digits). */
const MAX_OBJECT_REFERENCE_LENGTH = 256;

/**
 * Parameters of an input tensor; `binary_data_size` says its data follows the JSON header as binary, `sluice_object`
 * that it is in an object uploaded through `POST /v2/models/{m}/uploads` (see tensor-objects.ts).
 */
const InputParametersSchema = z.looseObject({
  binary_data_size: z.number().int().min(0).max(MAX_REQUEST_BYTES).optional(),
  sluice_object: z.string().min(1).max(MAX_OBJECT_REFERENCE_LENGTH).optional(),
});

/** Parameters of a requested output; `binary_data` asks for it as binary data, `sluice_object` as an object. */
const OutputParametersSchema = z.looseObject({
  binary_data: z.boolean().optional(),
  sluice_object: z.boolean().optional(),
});

/**
 * Request parameters; `binary_data_output` asks for every output as binary data unless one says otherwise,
 * `sluice_object_output` every output as an object (`true`) or those that would not fit the response (`"auto"`).
 */
const RequestParametersSchema = z.looseObject({
  binary_data_output: z.boolean().optional(),
  sluice_object_output: z.union([z.boolean(), z.literal('auto')]).optional(),
});

/** One input tensor of a V2 inference request; shape, datatype and data are checked against the model. */
export const RequestTensorSchema = z.strictObject({
  name: z.string().min(1),
  shape: z.unknown(),
  datatype: z.string(),
  /** Absent when the tensor is sent as binary data (`parameters.binary_data_size`). */
  data: z.unknown().optional(),
  parameters: InputParametersSchema.optional(),
});
/** One input tensor of a V2 inference request. */
export type RequestTensor = z.infer<typeof RequestTensorSchema>;

/** A V2 inference request body (`POST /v2/models/{m}/infer`). */
export const InferRequestSchema = z.strictObject({
  id: z.string().max(MAX_REQUEST_ID_LENGTH).optional(),
  parameters: RequestParametersSchema.optional(),
  inputs: z.array(RequestTensorSchema).min(1).max(MAX_INPUT_TENSORS),
  outputs: z
    .array(z.strictObject({ name: z.string().min(1), parameters: OutputParametersSchema.optional() }))
    .optional(),
});
/** A V2 inference request body. */
export type InferRequest = z.infer<typeof InferRequestSchema>;

/** The simple form (`POST /models/{m}/predict`): rows for a single-input model, or named nested arrays. */
export const PredictRequestSchema = z
  .strictObject({
    instances: z.array(z.unknown()).min(1).optional(),
    inputs: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((body) => (body.instances === undefined) !== (body.inputs === undefined), {
    message:
      'send exactly one of "instances" (rows for a single-input model) or "inputs" ({name: nested array})',
  });
/** The simple form request body. */
export type PredictRequest = z.infer<typeof PredictRequestSchema>;
