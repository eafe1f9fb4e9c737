import {
  BatchEventSchema,
  type BatchOutcome,
  batchPartKey,
  itemsOfBatch,
} from '../core/batch/batch-event.js';
import { type BatchResult, parseResultLines } from '../core/batch/batch-results.js';
import { buildProxyEvent } from '../core/contract/proxy-event.js';
import { ModelUnavailableError } from '../core/errors/model-errors.js';
import type { ObjectStore } from '../storage/ObjectStore.js';
import type { FunctionConfig } from './function-config.js';
import type { InferenceApp } from './InferenceApp.js';
import type { InferenceEngine } from './InferenceEngine.js';
import { type BatchTransport, scoreBatch } from './score-batch.js';

/** What {@link scoreBatchEvent} scores a batch with: the predict function's own pieces. */
export interface BatchScoring {
  readonly config: Pick<FunctionConfig, 'model' | 'version'>;
  readonly engine: Pick<InferenceEngine, 'get'>;
  readonly pipeline: Pick<InferenceApp, 'handle'>;
  /** The registry bucket: the batch's result part is written there. */
  readonly store: Pick<ObjectStore, 'putIfAbsent' | 'get'>;
}

/**
 * One batch of a Step Functions Distributed Map run (`sluice batch` on AWS), as the predict function is invoked with
 * it: refused (a ZodError, the map counts it as the batch's failure) unless it is one; its rows scored by the version
 * it names (or the configured one) through the request pipeline in process, as `/versions/{v}` requests (batch work
 * never counts as the alias's traffic); their results written once as one part to the registry bucket.
 *
 * @example
 * const outcome = await scoreBatchEvent(event, { config, engine, pipeline, store });
 */
export async function scoreBatchEvent(event: unknown, scoring: BatchScoring): Promise<BatchOutcome> {
  const { config, engine, pipeline, store } = scoring;
  const batch = BatchEventSchema.parse(event);
  const { version = config.version, runId } = batch.BatchInput.sluiceBatch;
  const { manifest } = await engine.get(config.model, version);
  const inputNames = manifest.inputs.map((input) => input.name);
  const { items, errors } = itemsOfBatch(batch, inputNames);
  const path = `/models/${config.model}/versions/${version}/predict`;
  const transport: BatchTransport = async (body) => {
    const result = await pipeline.handle(
      buildProxyEvent({
        method: 'POST',
        path,
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
        requestId: `${runId}-${items[0]?.line ?? 0}`,
        requestTimeEpoch: Date.now(),
      }),
    );
    return { kind: 'answered', status: result.statusCode, json: JSON.parse(result.body) };
  };
  // Step Functions retries a failed invocation (the map's Retry): in here a batch is sent once.
  const scored = await scoreBatch(items, {
    transport,
    inputNames,
    model: config.model,
    attempts: 1,
    sleep: async () => undefined,
  });
  // A fault not of the rows' making (the model cannot load, the store is down) fails the invocation, so Step
  // Functions tries the batch again (the map's Retry) instead of recording every row as failed for good.
  const fault = scored.find((result) => 'error' in result && (result.status ?? 500) >= 500);
  if (fault && 'error' in fault)
    throw new ModelUnavailableError(`the batch could not be scored: ${fault.error}`);
  // An item that is no row is a result line as it is.
  const results: BatchResult[] = [...errors, ...scored].sort((a, b) => a.line - b.line);
  const part = batchPartKey(config.model, batch);
  const text = `${results.map((result) => JSON.stringify(result)).join('\n')}\n`;
  // A retried batch finds its part written by the attempt that got this far: the same rows, never twice, and its
  // counts are the stored part's.
  const written = await store.putIfAbsent(part, text, { contentType: 'application/x-ndjson' });
  const stored = written ? text : new TextDecoder().decode(await store.get(part));
  const lines = parseResultLines(stored);
  const failed = lines.filter((line) => 'error' in line).length;
  return { part, rows: lines.length, succeeded: lines.length - failed, failed };
}
