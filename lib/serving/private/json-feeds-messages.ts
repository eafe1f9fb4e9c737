import {
  InvalidRequestError,
  RequestTooLargeError,
  UnsupportedEncodingError,
} from '../../core/errors/request-errors.js';
import type { JsonFeeds, JsonFeedsTask } from '../json-feeds.js';

/** What the pool posts to a worker: one body to decode. */
export interface DecodeRequest {
  readonly id: number;
  readonly task: JsonFeedsTask;
}

/** What a worker posts back: the decoded body, or the request error it is refused with. */
export type DecodeReply =
  | { readonly id: number; readonly ok: true; readonly result: JsonFeeds }
  | {
      readonly id: number;
      readonly ok: false;
      readonly error: { readonly name: string; readonly message: string };
    };

/** The errors decoding may refuse a body with, by class name: they cross the thread boundary as name and message. */
const REQUEST_ERRORS = {
  InvalidRequestError,
  RequestTooLargeError,
  UnsupportedEncodingError,
} as const;

/** The reply for a body a worker failed to decode. */
export function replyOf(id: number, error: unknown): DecodeReply {
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return { id, ok: false, error: { name, message } };
}

/**
 * The error of a failed reply, as the worker threw it: a request error of its own class (so the status table
 * answers it alike), anything else a plain Error (a 500, logged with the worker's message).
 */
export function errorOf(error: { readonly name: string; readonly message: string }): Error {
  const type = Object.hasOwn(REQUEST_ERRORS, error.name)
    ? REQUEST_ERRORS[error.name as keyof typeof REQUEST_ERRORS]
    : undefined;
  return type ? new type(error.message) : new Error(`decoding a request body failed: ${error.message}`);
}

/** The buffers of the feeds' typed arrays, each once: moved to the other thread instead of copied. */
export function transferablesOf(result: JsonFeeds): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const [, tensor] of result.feeds) {
    const data = tensor.data;
    if (ArrayBuffer.isView(data) && data.buffer instanceof ArrayBuffer) buffers.add(data.buffer);
  }
  return [...buffers];
}
