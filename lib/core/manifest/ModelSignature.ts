import type { TensorSpec } from '../tensor/TensorSpec.js';

/** What sluice reads from an ONNX graph (at publish time): its served inputs and outputs plus producer metadata. */
export interface ModelSignature {
  /** Graph inputs that are not initializers, in graph order. */
  readonly inputs: TensorSpec[];
  /** Graph outputs, in graph order. */
  readonly outputs: TensorSpec[];
  readonly irVersion?: number;
  readonly producerName?: string;
  readonly producerVersion?: string;
  readonly opsetVersion?: number;
}
