import * as z from 'zod';
import {
  BatchInputFormat,
  type BatchItem,
  type ItemError,
  itemOfCsvRecord,
  itemOfJson,
} from './batch-items.js';

/** The key prefix of a model's batch runs in the registry bucket: inputs and outputs live under it, and only there. */
export function batchPrefix(model: string): string {
  return `batch/${model}/`;
}

/** The model of a batch input key, `batch/<model>/input/...`. */
export function modelOfKey(key: string): string {
  return /^batch\/([^/]+)\/input\//.exec(key)?.[1] ?? '';
}

/**
 * True while an execution has not ended: RUNNING, or PENDING_REDRIVE while a redrive starts; it ends SUCCEEDED,
 * FAILED, TIMED_OUT or ABORTED (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html).
 */
export function isOpen(status: string): boolean {
  return status === 'RUNNING' || status === 'PENDING_REDRIVE';
}

/** Where a run's result parts go: `batch/MODEL/output/RUN/parts/`. */
export function batchPartsPrefix(model: string, runId: string): string {
  return `${batchPrefix(model)}output/${runId}/parts/`;
}

/** What every batch of one run shares (the state machine's ItemBatcher `BatchInput`). */
export const BatchRunInputSchema = z.strictObject({
  /** The run, as the state machine's execution is named. */
  runId: z.string().regex(/^[A-Za-z0-9_-]{1,80}$/, 'must be a run id (letters, digits, - and _)'),
  /** The input object's key (under the model's batch prefix). */
  key: z.string().min(1).max(1024),
  format: z.enum([BatchInputFormat.JSON_LINES, BatchInputFormat.CSV]),
  /** The version to score with; absent: the one the function serves. */
  version: z.number().int().positive().optional(),
});
/** What every batch of one run shares. */
export type BatchRunInput = z.infer<typeof BatchRunInputSchema>;

/**
 * One batch of a Distributed Map run, as the model's function is invoked with it: the items of the map's ItemReader
 * (each with its index in the object, `$$.Map.Item.Index`, by the map's ItemSelector) and the run's `BatchInput`
 * (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html).
 */
export const BatchEventSchema = z.object({
  Items: z.array(z.object({ index: z.number().int().nonnegative(), value: z.unknown() })).min(1),
  BatchInput: z.object({ sluiceBatch: BatchRunInputSchema }),
});
/** One batch of a Distributed Map run. */
export type BatchEvent = z.infer<typeof BatchEventSchema>;

/** What the function answers for a batch: its counts and the part it wrote (the rows' results are there). */
export const BatchOutcomeSchema = z.strictObject({
  part: z.string(),
  rows: z.number().int().nonnegative(),
  succeeded: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
});
/** What the function answers for a batch. */
export type BatchOutcome = z.infer<typeof BatchOutcomeSchema>;

/**
 * The rows of a batch, each with its line in the input object (a JSON lines item's index + 1; a CSV record's + 2,
 * after the header), and the items that are no rows. CSV records come as objects keyed by the header; their
 * columns are read in the order of the object's keys, the header's.
 *
 * @example
 * itemsOfBatch(event, ['features']).items.length;
 */
export function itemsOfBatch(
  event: BatchEvent,
  inputNames: readonly string[],
): { items: BatchItem[]; errors: ItemError[] } {
  const { key, format } = event.BatchInput.sluiceBatch;
  const items: BatchItem[] = [];
  const errors: ItemError[] = [];
  for (const { index, value } of event.Items) {
    const line = lineOfItem(format, index);
    const item =
      format === BatchInputFormat.CSV
        ? csvItem(value, key, line, inputNames)
        : itemOfJson(value, key, line, inputNames);
    if ('error' in item) errors.push(item);
    else items.push(item);
  }
  return { items, errors };
}

/** An item's line in its object: a JSON lines item's index + 1, a CSV record's + 2 (after the header). */
export function lineOfItem(format: BatchInputFormat, index: number): number {
  return format === BatchInputFormat.CSV ? index + 2 : index + 1;
}

/**
 * Where each item of a batch came from, as its result line names it: the input object, the line, and the row's id
 * when it has one (an object's `id` text). What a batch that failed every attempt still says of its rows.
 *
 * @example
 * placesOfBatch(event).map((place) => place.line);
 */
export function placesOfBatch(event: BatchEvent): { source: string; line: number; id?: string }[] {
  const { key, format } = event.BatchInput.sluiceBatch;
  return event.Items.map(({ index, value }) => {
    const id = typeof value === 'object' && value !== null ? (value as { id?: unknown }).id : undefined;
    return { source: key, line: lineOfItem(format, index), ...(typeof id === 'string' ? { id } : {}) };
  });
}

function csvItem(
  value: unknown,
  source: string,
  line: number,
  inputNames: readonly string[],
): BatchItem | ItemError {
  const record = z.record(z.string(), z.string()).safeParse(value);
  if (!record.success) return { source, line, error: 'a CSV record is an object of text fields' };
  return itemOfCsvRecord(record.data, Object.keys(record.data), source, line, inputNames);
}

/** The part a batch's results are written to: numbered by its first item, so a retried batch writes the same one. */
export function batchPartKey(model: string, event: BatchEvent): string {
  const first = Math.min(...event.Items.map((item) => item.index));
  return `${batchPartsPrefix(model, event.BatchInput.sluiceBatch.runId)}part-${String(first).padStart(10, '0')}.jsonl`;
}
