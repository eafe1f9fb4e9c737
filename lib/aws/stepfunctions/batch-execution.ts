import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ExecutionAlreadyExists,
  type ExecutionStatus,
  ListMapRunsCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import * as z from 'zod';
import {
  type BatchRunInput,
  BatchRunInputSchema,
  batchPrefix,
  isOpen,
  modelOfKey,
} from '../../core/batch/batch-event.js';
import { SluiceError } from '../../core/errors/SluiceError.js';
import type { ObjectStore } from '../../storage/ObjectStore.js';

/** Where a batch execution stands: its status, and its map run's counters once the map has started. */
export interface BatchExecutionState {
  readonly executionArn: string;
  readonly status: ExecutionStatus;
  /** The run the execution was started with (its input's `run`). */
  readonly run: BatchRunInput;
  readonly startDate: Date;
  readonly stopDate?: Date;
  /** Why a failed execution failed (`States.ExceedToleratedFailureThreshold`, ...). */
  readonly error?: string;
  readonly cause?: string;
  /** The result writer's manifest as the execution's output names it (a succeeded run's). */
  readonly manifestKey?: string;
  /** The map run's id (the last part of its ARN), once the map has started: a failed run's manifest is under it. */
  readonly mapRunId?: string;
  /**
   * Items (rows) of the map run (DescribeMapRun `itemCounts`; a failed batch counts all its items failed), and its
   * child executions (`executionCounts`, one per batch); absent before the map run starts.
   */
  readonly items?: MapRunCounts;
  readonly batches?: MapRunCounts;
}

/** The counters of a map run sluice shows. */
export interface MapRunCounts {
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
}

/** The execution's input as `sluice batch` starts it. */
const ExecutionInputSchema = z.object({ run: BatchRunInputSchema });

/** The state machine's output: the map's result at `$.results` (ResultWriterDetails: where the manifest is). */
const ExecutionOutputSchema = z.object({
  results: z.object({ ResultWriterDetails: z.object({ Bucket: z.string(), Key: z.string() }) }),
});

/**
 * The ARN of a state machine's execution named `name`: `arn:PARTITION:states:REGION:ACCOUNT:execution:MACHINE:NAME`
 * beside the machine's `...:stateMachine:MACHINE` (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html).
 *
 * @example
 * executionArnOf('arn:aws:states:eu-west-1:123456789012:stateMachine:IrisBatch', 'run-1');
 */
export function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/**
 * Starts a batch run: an execution of the model's batch state machine named by the run, so that starting the same
 * run again while it runs answers the same execution (same name, same input: StartExecution is idempotent), and a
 * run id already used is refused (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html).
 *
 * @example
 * const arn = await startBatchExecution(sfn, machineArn, { runId, key, format: 'jsonl' });
 */
export async function startBatchExecution(
  client: SFNClient,
  stateMachineArn: string,
  run: BatchRunInput,
): Promise<string> {
  try {
    const started = await client.send(
      new StartExecutionCommand({ stateMachineArn, name: run.runId, input: JSON.stringify({ run }) }),
    );
    if (!started.executionArn) throw new SluiceError('StartExecution answered no executionArn');
    return started.executionArn;
  } catch (error) {
    if (!(error instanceof ExecutionAlreadyExists)) throw error;
    // The name is taken by an open execution with another input, or by an ended one (any input).
    const earlier = await client.send(
      new DescribeExecutionCommand({ executionArn: executionArnOf(stateMachineArn, run.runId) }),
    );
    const status = `\`sluice batch status ${run.runId}\``;
    throw new SluiceError(
      earlier.status && isOpen(earlier.status)
        ? `batch run ${run.runId} is running with another input than this command's (${earlier.input}); follow it with ${status}, or give another --run-id`
        : `batch run ${run.runId} has already run (${earlier.status}; an execution name is used once in 90 days); see ${status}, or give another --run-id`,
      { cause: error },
    );
  }
}

/**
 * Reads a batch execution: DescribeExecution, and the counters of its map run (ListMapRuns, DescribeMapRun)
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeMapRun.html).
 *
 * @example
 * const state = await readBatchExecution(sfn, executionArn);
 */
export async function readBatchExecution(
  client: SFNClient,
  executionArn: string,
): Promise<BatchExecutionState> {
  const execution = await client.send(new DescribeExecutionCommand({ executionArn }));
  const input = ExecutionInputSchema.safeParse(JSON.parse(execution.input ?? '{}'));
  if (!input.success) {
    throw new SluiceError(`${executionArn} is no sluice batch run: its input has no run`);
  }
  const output = ExecutionOutputSchema.safeParse(
    execution.output === undefined ? undefined : JSON.parse(execution.output),
  );
  const { mapRuns = [] } = await client.send(new ListMapRunsCommand({ executionArn }));
  const mapRunArn = mapRuns[0]?.mapRunArn;
  const mapRun = mapRunArn ? await client.send(new DescribeMapRunCommand({ mapRunArn })) : undefined;
  const counts = (
    counters: {
      total?: number;
      succeeded?: number;
      failed?: number;
      timedOut?: number;
      aborted?: number;
    } = {},
  ): MapRunCounts => {
    const failed = (counters.failed ?? 0) + (counters.timedOut ?? 0) + (counters.aborted ?? 0);
    const total = counters.total ?? 0;
    const succeeded = counters.succeeded ?? 0;
    return { total, succeeded, failed };
  };
  const mapRunId = mapRunArn?.split(':').pop();
  const manifestKey = output.data?.results.ResultWriterDetails.Key;
  if (!execution.status) throw new SluiceError(`DescribeExecution of ${executionArn} answered no status`);
  return {
    executionArn,
    status: execution.status,
    run: input.data.run,
    startDate: execution.startDate ?? new Date(0),
    ...(execution.stopDate ? { stopDate: execution.stopDate } : {}),
    ...(execution.error === undefined ? {} : { error: execution.error }),
    ...(execution.cause === undefined ? {} : { cause: execution.cause }),
    ...(manifestKey ? { manifestKey } : {}),
    ...(mapRunId ? { mapRunId } : {}),
    ...(mapRun ? { items: counts(mapRun.itemCounts), batches: counts(mapRun.executionCounts) } : {}),
  };
}

/** A batch that failed every attempt, as the result writer lists it: its items and why. */
export interface FailedBatch {
  /** The child execution's input: the batch as the function was invoked with it. */
  readonly input: unknown;
  readonly error: string;
  readonly cause: string;
}

/** The result writer's manifest: the files of each status (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html). */
const ManifestSchema = z.object({
  ResultFiles: z.object({ FAILED: z.array(z.object({ Key: z.string() })).optional() }),
});

/**
 * A map run's manifest, read: the key the execution's output names when it succeeded, else under the writer's prefix
 * in a folder named by the map run's id, as the execution's output shows it (`<Prefix>/<map run id>/manifest.json`:
 * https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html); the prefix ends in `/` here,
 * and AWS's pages do not say whether the writer adds another, so both are looked for. Undefined when none is there
 * (the map run ended before it could write).
 */
async function readManifest(
  objects: ObjectStore,
  state: BatchExecutionState,
): Promise<Uint8Array | undefined> {
  const prefix = `${batchPrefix(modelOfKey(state.run.key))}output/`;
  const keys = state.manifestKey
    ? [state.manifestKey]
    : state.mapRunId
      ? [`${prefix}${state.mapRunId}/manifest.json`, `${prefix}/${state.mapRunId}/manifest.json`]
      : [];
  for (const key of keys) {
    const body = await objects.get(key);
    if (body !== undefined) return body;
  }
  return undefined;
}

/** One child execution in a result writer's FAILED file. */
const FailedExecutionSchema = z.object({
  Input: z.string(),
  Error: z.string().optional(),
  Cause: z.string().optional(),
});

/**
 * The batches of a map run that failed every attempt, read from its result writer's manifest and FAILED files; none
 * when there is no manifest (the map run ended before it could write).
 *
 * @example
 * const failed = await failedBatches(objects, state);
 */
export async function failedBatches(
  objects: ObjectStore,
  state: BatchExecutionState,
): Promise<FailedBatch[]> {
  const manifest = await readManifest(objects, state);
  if (manifest === undefined) return [];
  const files = ManifestSchema.parse(JSON.parse(new TextDecoder().decode(manifest))).ResultFiles.FAILED ?? [];
  const batches: FailedBatch[] = [];
  for (const file of files) {
    const body = await objects.get(file.Key);
    if (body === undefined) throw new SluiceError(`the result writer's ${file.Key} is missing`);
    for (const execution of z
      .array(FailedExecutionSchema)
      .parse(JSON.parse(new TextDecoder().decode(body)))) {
      batches.push({
        input: JSON.parse(execution.Input),
        error: execution.Error ?? 'States.TaskFailed',
        cause: execution.Cause ?? '',
      });
    }
  }
  return batches;
}
