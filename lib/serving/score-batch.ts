import type { BatchItem } from '../core/batch/batch-items.js';
import type { BatchResult } from '../core/batch/batch-results.js';
import { ErrorBodySchema, PredictResponseSchema } from '../core/contract/response-schemas.js';

/** Attempts of one batch request that failed for a reason not its own (a 5xx, a dropped connection). */
export const BATCH_ATTEMPTS = 3;

/** Wait before the second attempt of a batch, in milliseconds; doubled before each one after. */
export const BATCH_RETRY_MS = 200;

/** What one simple-form request of a batch came back with: an answer, or none (the server was not reached). */
export type BatchAnswer =
  | { readonly kind: 'answered'; readonly status: number; readonly json: unknown }
  | { readonly kind: 'unreachable'; readonly error: string };

/** How a batch reaches the model: one simple-form request body in, its answer out. */
export type BatchTransport = (body: object) => Promise<BatchAnswer>;

/** What {@link scoreBatch} needs besides the rows. */
export interface ScoreBatchContext {
  /** Sends one simple-form body (`{"instances"}` or `{"inputs"}`) to the model's predict route. */
  readonly transport: BatchTransport;
  /** The model's input names, in its signature's order. */
  readonly inputNames: readonly string[];
  readonly model: string;
  /** @default BATCH_ATTEMPTS */
  readonly attempts?: number;
  /** Waits between attempts (tests pass one that returns at once). */
  readonly sleep: (ms: number) => Promise<void>;
}

/**
 * The result of each row of a batch, the same for the local stack (over HTTP) and a Lambda function (in process):
 * one simple-form request for all the rows (one session.run); a batch refused as too large (413) is split in
 * halves; a batch refused for its input (another 4xx) is sent again row by row, so a bad row is named and the
 * others are scored; a 5xx or no answer is tried `attempts` times, then every row of the batch carries the error.
 * Every row gets one result, a prediction (the simple form's, with labels) or an error.
 *
 * @example
 * const results = await scoreBatch(items, { transport, inputNames: ['features'], model: 'iris', sleep });
 */
export async function scoreBatch(
  items: readonly BatchItem[],
  context: ScoreBatchContext,
): Promise<BatchResult[]> {
  const [only, ...more] = context.inputNames;
  const body =
    only !== undefined && more.length === 0
      ? { instances: items.map((item) => item.inputs[only]) }
      : {
          inputs: Object.fromEntries(
            context.inputNames.map((name) => [name, items.map((item) => item.inputs[name])]),
          ),
        };
  const answer = await withRetries(context, body);
  if (answer.kind === 'answered' && answer.status === 200) {
    const parsed = PredictResponseSchema.safeParse(answer.json);
    const predictions = parsed.success ? parsed.data.predictions : undefined;
    const perRow = Array.isArray(predictions) && predictions.length === items.length;
    if (parsed.success && (perRow || items.length === 1)) {
      return items.map((item, index) => ({
        ...where(item),
        model: context.model,
        version: parsed.data.version,
        prediction: perRow ? (predictions as unknown[])[index] : predictions,
      }));
    }
    // Answers that are not one per row (a model without a batch dimension): each row alone.
    if (items.length > 1) return scoreRows(items, context);
    return [{ ...where(items[0] as BatchItem), error: 'the answer is not a prediction', status: 200 }];
  }
  if (answer.kind === 'answered' && answer.status === 413 && items.length > 1) {
    const half = Math.ceil(items.length / 2);
    return [
      ...(await scoreBatch(items.slice(0, half), context)),
      ...(await scoreBatch(items.slice(half), context)),
    ];
  }
  if (answer.kind === 'answered' && answer.status >= 400 && answer.status < 500 && items.length > 1) {
    return scoreRows(items, context);
  }
  const error =
    answer.kind === 'answered'
      ? (ErrorBodySchema.safeParse(answer.json).data?.error ?? `answered ${answer.status}`)
      : answer.error;
  return items.map((item) => ({
    ...where(item),
    error,
    ...(answer.kind === 'answered' ? { status: answer.status } : {}),
  }));
}

/** Each row alone: what a batch refused for its input comes to. */
async function scoreRows(items: readonly BatchItem[], context: ScoreBatchContext): Promise<BatchResult[]> {
  const results: BatchResult[] = [];
  for (const item of items) results.push(...(await scoreBatch([item], context)));
  return results;
}

function where(item: BatchItem): { source: string; line: number; id?: string } {
  return { source: item.source, line: item.line, ...(item.id === undefined ? {} : { id: item.id }) };
}

/** One request, tried again after a 5xx or no answer, `attempts` times in all. */
async function withRetries(context: ScoreBatchContext, body: object): Promise<BatchAnswer> {
  const attempts = context.attempts ?? BATCH_ATTEMPTS;
  let last: BatchAnswer = { kind: 'unreachable', error: 'not sent' };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await context.sleep(BATCH_RETRY_MS * 2 ** (attempt - 2));
    last = await context.transport(body);
    if (last.kind === 'answered' && last.status < 500) return last;
  }
  return last;
}
