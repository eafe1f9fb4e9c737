import * as z from 'zod';
import {
  ErrorBodySchema,
  InferResponseSchema,
  ModelReadyResponseSchema as ReadyResponseSchema,
} from '../contract/response-schemas.js';
import { describeIssues } from '../errors/describe-issues.js';
import type { GoldenExample } from '../manifest/ModelManifest.js';
import { stringifyJson } from '../tensor/encode-tensor.js';
import { parseJson } from '../tensor/parse-json.js';
import type { TensorSpec } from '../tensor/TensorSpec.js';
import { type GoldenAnswer, type GoldenTransport, GoldenTransportError } from './run-golden-check.js';

/** Longest piece of an answer quoted in a failure, so a failure stays one readable line. */
export const MAX_QUOTED_RESPONSE_CHARS = 300;

/** Label of the readiness check in failures. */
export const READY_CHECK_LABEL = 'ready check';

/** One HTTP request of the check. */
export interface GoldenRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** Serialised JSON body. */
  readonly body?: string;
  /** Request id for the target's logs. */
  readonly requestId: string;
}

/** An HTTP answer: status and body text. */
export interface GoldenHttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** Sends one request to the version under test; throws {@link GoldenTransportError} when there is no HTTP answer. */
export type GoldenSend = (request: GoldenRequest) => Promise<GoldenHttpAnswer>;

/** What {@link httpGoldenTransport} takes. */
export interface HttpGoldenTransportProps {
  /** How a request reaches the version: fetch against the local stack, or a Lambda Invoke with a proxy event. */
  readonly send: GoldenSend;
  /** `POST` path of a V2 inference of the version under test. */
  readonly inferPath: string;
  /** `GET` path of its V2 readiness. */
  readonly readyPath: string;
  /** The model's input signature: fills in the datatype an example leaves out. */
  readonly inputs: readonly TensorSpec[];
  /** The model and version that must answer the readiness check. */
  readonly expected: { readonly model: string; readonly version: number };
}

/** A V2 inference response whose outputs are JSON data, as a golden check asks for them. */
const JsonInferResponseSchema = InferResponseSchema.extend({
  outputs: z.array(InferResponseSchema.shape.outputs.element.required({ data: true })),
});

/**
 * The golden-example transport over sluice's HTTP contract: each example as `POST` of a V2 inference request to
 * the version under test, judged on the V2 response (200, the outputs, which model version answered); without
 * examples, `GET` of its readiness. The local stack sends with fetch, AWS with Lambda Invoke (see
 * `lambdaGoldenSend`), so both judge exactly the same answers.
 *
 * @example
 * const transport = httpGoldenTransport({
 *   send,
 *   inferPath: inferPath('iris'),
 *   readyPath: readyPath('iris'),
 *   inputs: manifest.inputs,
 *   expected: { model: 'iris', version: 2 },
 * });
 */
export function httpGoldenTransport(props: HttpGoldenTransportProps): GoldenTransport {
  return {
    async infer(example: GoldenExample, id: string): Promise<GoldenAnswer> {
      const body = goldenInferBody(example, props.inputs, id);
      const answer = await props.send({ method: 'POST', path: props.inferPath, body, requestId: id });
      const text = okBody(answer);
      let json: unknown;
      try {
        // The exact parser: INT64 values beyond 2^53 arrive as integer literals and must compare exactly.
        json = parseJson(text);
      } catch (error) {
        throw new GoldenTransportError(`the response is not JSON: ${messageOf(error)}`);
      }
      const response = JsonInferResponseSchema.safeParse(json);
      if (!response.success) {
        throw new GoldenTransportError(
          `the response is not a V2 inference response: ${describeIssues(response.error)}`,
        );
      }
      return {
        outputs: response.data.outputs,
        model: response.data.model_name,
        version: response.data.model_version,
      };
    },
    async ready(): Promise<string[]> {
      let text: string;
      try {
        text = okBody(
          await props.send({ method: 'GET', path: props.readyPath, requestId: 'sluice-golden-ready' }),
        );
      } catch (error) {
        return [`${READY_CHECK_LABEL}: ${messageOf(error)}`];
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (error) {
        return [`${READY_CHECK_LABEL}: the response is not JSON: ${messageOf(error)}`];
      }
      const response = ReadyResponseSchema.safeParse(json);
      if (!response.success) {
        return [
          `${READY_CHECK_LABEL}: the response is not a V2 ready response: ${describeIssues(response.error)}`,
        ];
      }
      const { model, version } = props.expected;
      if (response.data.name === model && response.data.version === String(version)) return [];
      return [
        `${READY_CHECK_LABEL}: served model "${response.data.name}" version ${response.data.version}, expected "${model}" version ${version}`,
      ];
    },
  };
}

/**
 * The V2 inference request body for a golden example: its inputs (datatype filled in from the model's
 * signature where the example leaves it out, as the in-process check does) and only the outputs it
 * expects. 64-bit integers given as bigint are written as exact integer literals.
 *
 * Throws {@link GoldenTransportError} when the example names an input the model does not have and gives no datatype.
 *
 * @example
 * goldenInferBody(manifest.goldenExamples[0], manifest.inputs, 'sluice-golden-1');
 */
export function goldenInferBody(
  example: GoldenExample,
  inputSpecs: readonly TensorSpec[],
  id: string,
): string {
  const inputs = example.inputs.map((input) => {
    const datatype = input.datatype ?? inputSpecs.find((spec) => spec.name === input.name)?.datatype;
    if (datatype === undefined) {
      throw new GoldenTransportError(
        `input "${input.name}" is not an input of the model and gives no datatype`,
      );
    }
    return { name: input.name, shape: input.shape, datatype, data: input.data };
  });
  return stringifyJson({ id, inputs, outputs: example.outputs.map((output) => ({ name: output.name })) });
}

/** Quotes a piece of an answer, shortened to {@link MAX_QUOTED_RESPONSE_CHARS}. */
export function quoteAnswer(text: string): string {
  if (text === '') return '(empty)';
  return text.length > MAX_QUOTED_RESPONSE_CHARS ? `${text.slice(0, MAX_QUOTED_RESPONSE_CHARS)}...` : text;
}

/** The body of a 200 answer; otherwise throws naming the status and the error the answer carried. */
function okBody(answer: GoldenHttpAnswer): string {
  if (answer.status === 200) return answer.body;
  let json: unknown;
  try {
    json = JSON.parse(answer.body);
  } catch {
    throw new GoldenTransportError(`answered ${answer.status}: ${quoteAnswer(answer.body)}`);
  }
  const parsed = ErrorBodySchema.safeParse(json);
  throw new GoldenTransportError(
    `answered ${answer.status}: ${quoteAnswer(parsed.success ? parsed.data.error : answer.body)}`,
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
