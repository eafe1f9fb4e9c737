import * as z from 'zod';

/** Most failures a run's summary lists one by one (every failure is in the result lines). */
export const MAX_LISTED_FAILURES = 100;

/**
 * One line of a batch run's results (JSON lines): the row's source and line (and id), and either the version that
 * answered and its prediction (with class labels where the manifest has them, as the simple form answers), or why
 * the row has none.
 */
export const BatchResultSchema = z.union([
  z.strictObject({
    source: z.string(),
    line: z.number().int().positive(),
    id: z.string().optional(),
    model: z.string(),
    version: z.number().int().positive(),
    prediction: z.unknown(),
  }),
  z.strictObject({
    source: z.string(),
    line: z.number().int().positive(),
    id: z.string().optional(),
    error: z.string(),
    /** The HTTP status the row was refused with, when it reached the model. */
    status: z.number().int().optional(),
  }),
]);
/** One result line. */
export type BatchResult = z.infer<typeof BatchResultSchema>;

/**
 * The result lines of a part or a results file (JSON lines), each checked against {@link BatchResultSchema}.
 *
 * @example
 * parseResultLines('{"source":"rows.jsonl","line":1,"error":"not a row"}\n').length; // 1
 */
export function parseResultLines(text: string): BatchResult[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => BatchResultSchema.parse(JSON.parse(line)));
}

/** What a batch run was asked: a resumed run must ask the same, or its parts would not line up. */
export const BatchRunSchema = z.strictObject({
  model: z.string(),
  /** The version every batch names; absent: whatever the alias routes each batch to. */
  version: z.number().int().positive().optional(),
  batchSize: z.number().int().positive(),
  /** The input files, in the order their batches are numbered. */
  inputs: z.array(z.string()).min(1),
});
/** A batch run's settings. */
export type BatchRun = z.infer<typeof BatchRunSchema>;

/** The summary a finished run writes beside its results. */
export const BatchSummarySchema = z.strictObject({
  model: z.string(),
  /** Rows answered per version that answered them. */
  versions: z.record(z.string(), z.number().int().nonnegative()),
  rows: z.number().int().nonnegative(),
  succeeded: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  batches: z.number().int().nonnegative(),
  /** Batches a resumed run found done and did not send again. */
  resumedBatches: z.number().int().nonnegative(),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number().nonnegative(),
  /** The first failures, with their reasons. */
  failures: z.array(
    z.strictObject({ source: z.string(), line: z.number(), id: z.string().optional(), error: z.string() }),
  ),
});
/** A batch run's summary. */
export type BatchSummary = z.infer<typeof BatchSummarySchema>;

/** The part file of one batch: numbered by its input file and its place in it, so a resumed run finds it. */
export function partName(inputIndex: number, batchIndex: number): string {
  return `part-${inputNumber(inputIndex)}-${String(batchIndex).padStart(6, '0')}.jsonl`;
}

/** The part file of an input file's lines that are no rows: the same on every run. */
export function errorsPartName(inputIndex: number): string {
  return `part-${inputNumber(inputIndex)}-errors.jsonl`;
}

function inputNumber(inputIndex: number): string {
  return String(inputIndex).padStart(4, '0');
}

/**
 * The summary of a run's results: counts, the versions that answered, and the first failures.
 *
 * @example
 * summarize('iris', results, { batches: 4, resumedBatches: 0, startedAt, finishedAt });
 */
export function summarize(
  model: string,
  results: readonly BatchResult[],
  run: {
    readonly batches: number;
    readonly resumedBatches: number;
    readonly startedAt: number;
    readonly finishedAt: number;
  },
): BatchSummary {
  const versions: Record<string, number> = {};
  const failures: BatchSummary['failures'] = [];
  let failed = 0;
  for (const result of results) {
    if ('error' in result) {
      failed++;
      if (failures.length < MAX_LISTED_FAILURES) {
        failures.push({
          source: result.source,
          line: result.line,
          ...(result.id === undefined ? {} : { id: result.id }),
          error: result.error,
        });
      }
    } else versions[String(result.version)] = (versions[String(result.version)] ?? 0) + 1;
  }
  return {
    model,
    versions,
    rows: results.length,
    succeeded: results.length - failed,
    failed,
    batches: run.batches,
    resumedBatches: run.resumedBatches,
    startedAt: new Date(run.startedAt).toISOString(),
    finishedAt: new Date(run.finishedAt).toISOString(),
    durationMs: run.finishedAt - run.startedAt,
    failures,
  };
}
