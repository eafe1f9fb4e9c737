import { availableParallelism } from 'node:os';
import type { InferenceSession } from 'onnxruntime-node';

/**
 * onnxruntime session options for a Lambda-sized machine.
 *
 * Lambda gives a function 1 to 6 vCPUs in proportion to its memory, and `availableParallelism()`
 * reports what this sandbox really has, so intra-op threads never oversubscribe it. One request runs
 * at a time per sandbox, so inter-op parallelism would only add threads that contend.
 *
 * @example
 * const session = await InferenceSession.create(bytes, lambdaSessionOptions());
 */
export function lambdaSessionOptions(cpus: number = availableParallelism()): InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: Math.max(1, cpus),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableCpuMemArena: true,
    enableMemPattern: true,
    logSeverityLevel: 3,
    // Idle intra-op threads would otherwise spin for a while after each run, taking the CPU the request's own
    // encoding needs on a sandbox with one or two vCPUs.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}
