import { type InferRequest, PredictRequestSchema } from '../core/contract/infer-request.js';
import { describeIssues } from '../core/errors/describe-issues.js';
import { InvalidRequestError } from '../core/errors/request-errors.js';
import { decodeRows } from '../core/tensor/decode-tensor.js';
import { parseJson } from '../core/tensor/parse-json.js';
import type { TensorData } from '../core/tensor/TensorData.js';
import type { TensorSpec } from '../core/tensor/TensorSpec.js';
import { parseInferRequest } from './infer-body.js';
import {
  collectFeeds,
  decodeProvidedInput,
  type FeedModel,
  splitBinaryInputs,
} from './private/request-feeds.js';
import { type BodyEvent, readBodyText } from './request-body.js';

/** The request forms with a JSON body: V2 (`POST .../infer`) and the simple form (`POST .../predict`). */
export const JsonForm = {
  INFER: 'infer',
  PREDICT: 'predict',
} as const;
/** One JSON request form. */
export type JsonForm = (typeof JsonForm)[keyof typeof JsonForm];

/** A JSON body to turn into feeds: which form it is, the event's body, and the model it is for. */
export interface JsonFeedsTask {
  readonly form: JsonForm;
  readonly body: BodyEvent;
  readonly model: FeedModel;
}

/** A V2 request without its inputs' values, which are in the feeds: what the answer still needs of it. */
export type InferRequestHead = Omit<InferRequest, 'inputs'> & {
  readonly inputs: readonly Omit<InferRequest['inputs'][number], 'data'>[];
};

/** A JSON body decoded: the feeds, one per model input, and (V2 only) the rest of the request. */
export interface JsonFeeds {
  readonly request: InferRequestHead | undefined;
  /** In the model's input order; a list rather than an object, so that it crosses threads without a prototype. */
  readonly feeds: readonly (readonly [string, TensorData])[];
}

/**
 * Reads a JSON request body (base64 or text, see `readBodyText`), parses it exactly, checks it against its form's
 * schema and decodes every input against the model: everything a request's JSON costs, in one pure function, so it
 * can run on the request's thread or on a worker's (see `JsonFeedsPool`). Every failure is a request error naming
 * the problem (400, 413 or 415).
 *
 * @example
 * const { feeds } = decodeJsonFeeds({ form: 'predict', body: event, model: manifest });
 */
export function decodeJsonFeeds(task: JsonFeedsTask): JsonFeeds {
  const text = readBodyText(task.body);
  if (task.form === JsonForm.INFER) {
    const request = parseInferRequest(text);
    // Without binary data, an input with binary_data_size is refused here.
    const provided = splitBinaryInputs(request.inputs, undefined);
    const feeds = collectFeeds(task.model, provided, decodeProvidedInput);
    return {
      request: { ...request, inputs: request.inputs.map(({ data: _data, ...head }) => head) },
      feeds: entries(task.model, feeds),
    };
  }
  const parsed = PredictRequestSchema.safeParse(parseJson(text));
  if (!parsed.success)
    throw new InvalidRequestError(`invalid predict request: ${describeIssues(parsed.error)}`);
  const { inputs } = task.model;
  const provided = new Map<string, unknown>();
  if (parsed.data.instances !== undefined) {
    if (inputs.length !== 1) {
      const names = inputs.map((spec) => spec.name).join(', ');
      throw new InvalidRequestError(
        `"instances" works for single-input models; this one has inputs ${names}: send {"inputs": {name: nested array}}`,
      );
    }
    provided.set((inputs[0] as TensorSpec).name, parsed.data.instances);
  } else {
    // parseJson has refused an input named twice (JSON.parse would keep the last).
    for (const [name, value] of Object.entries(parsed.data.inputs ?? {})) provided.set(name, value);
  }
  const feeds = collectFeeds(task.model, provided, (rows, spec) => decodeRows(spec.name, rows, spec));
  return { request: undefined, feeds: entries(task.model, feeds) };
}

function entries(
  model: FeedModel,
  feeds: Record<string, TensorData>,
): readonly (readonly [string, TensorData])[] {
  return model.inputs.map((spec) => [spec.name, feeds[spec.name] as TensorData] as const);
}
