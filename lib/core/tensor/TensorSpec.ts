import * as z from 'zod';
import { TENSOR_DATATYPES } from './datatypes.js';

/**
 * One input or output of the ONNX graph: name, V2 datatype, and shape with -1 for dynamic dimensions. `dimNames`
 * keeps the graph's symbolic dimension names (ONNX `dim_param`, e.g. `batch`), one per axis, `null` where an axis
 * has none; absent when no axis is named (and in manifests written before it existed). Inputs that share a name
 * must agree on that dimension's size in a request.
 */
export const TensorSpecSchema = z.object({
  name: z.string().min(1),
  datatype: z.enum(TENSOR_DATATYPES),
  shape: z.array(z.number().int().min(-1)),
  dimNames: z.array(z.string().min(1).nullable()).optional(),
});
/** One input or output of the ONNX graph. */
export type TensorSpec = z.infer<typeof TensorSpecSchema>;
