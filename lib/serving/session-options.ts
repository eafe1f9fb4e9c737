import { availableParallelism } from 'node:os';
import type { InferenceSession } from 'onnxruntime-node';

/**
 * Memory at which a Lambda function gets the equivalent of one vCPU of credits: Lambda allocates CPU power in
 * proportion to memory (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
 */
export const LAMBDA_MB_PER_VCPU = 1_769;

/**
 * The intra-op threads worth running: the vCPUs Lambda's CPU credits pay for at `memoryMb`, at least 1 and at most
 * the CPUs the sandbox shows. Lambda shows 2 or more CPUs whatever the memory, but below 1,769 MB it throttles them
 * to less than one vCPU of credits, so more threads than credits only contend. Off Lambda (no memory size), every
 * CPU the machine has.
 *
 * @example
 * lambdaThreads(1024, 2); // 1
 * lambdaThreads(3538, 3); // 2
 */
export function lambdaThreads(memoryMb: number | undefined, cpus: number = availableParallelism()): number {
  if (memoryMb === undefined || !Number.isFinite(memoryMb) || memoryMb <= 0) return Math.max(1, cpus);
  return Math.max(1, Math.min(cpus, Math.round(memoryMb / LAMBDA_MB_PER_VCPU)));
}

/**
 * The function's memory as Lambda sets it for every sandbox (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`), read once when
 * this module loads: it is constant for the life of the sandbox. Undefined off Lambda.
 */
const SANDBOX_MEMORY_MB = Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE) || undefined;

/**
 * onnxruntime session options for a Lambda-sized machine.
 *
 * Intra-op threads match the vCPUs the function's memory pays for ({@link lambdaThreads}), so they never
 * oversubscribe a throttled sandbox. One request runs at a time per sandbox, so inter-op parallelism would only add
 * threads that contend.
 *
 * @example
 * const session = await InferenceSession.create(bytes, lambdaSessionOptions());
 */
export function lambdaSessionOptions(
  threads: number = lambdaThreads(SANDBOX_MEMORY_MB),
): InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: Math.max(1, threads),
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
