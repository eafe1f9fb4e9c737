import type { Context } from 'aws-lambda';
import type { BatchEvent, BatchOutcome } from '../core/batch/batch-event.js';
import { isBatchEvent } from '../core/batch/is-batch-event.js';
import type { PredictHandler } from './create-predict-handler.js';
import { acceptEveryDoor } from './http-event-format.js';

/** An HTTP request through any door, as the predict function is invoked with one. */
type HttpEntry = ReturnType<typeof acceptEveryDoor<Pick<Context, 'awsRequestId'>>>;

/** The predict function's entry: HTTP requests through any door, and the batches of a `sluice batch` run. */
export interface PredictEntry {
  /** A batch of a `sluice batch` run (Step Functions' Distributed Map). */
  (event: BatchEvent, context?: Pick<Context, 'awsRequestId'>): Promise<BatchOutcome>;
  /** An HTTP request through any door. */
  (event: Parameters<HttpEntry>[0], context?: Pick<Context, 'awsRequestId'>): ReturnType<HttpEntry>;
}

/**
 * What the predict function answers each event Lambda invokes it with: REST proxy events, payload format 2.0 ones
 * (HTTP API, function URL), and the batches of a `sluice batch` run, which are told apart by their `Items` and
 * sluice's `BatchInput`; a batch that is not one is refused (the map counts it as that batch's failure).
 *
 * @example
 * export const handler = predictEntry(createPredictHandler(config));
 */
export function predictEntry(predict: Pick<PredictHandler, 'handler' | 'batch'>): PredictEntry {
  const http = acceptEveryDoor(predict.handler);
  return (async (event: unknown, context?: Pick<Context, 'awsRequestId'>) =>
    isBatchEvent(event)
      ? predict.batch(event)
      : http(event as Parameters<HttpEntry>[0], context)) as PredictEntry;
}
