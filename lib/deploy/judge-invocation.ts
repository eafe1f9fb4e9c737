import { z } from 'zod';
import { describeIssues } from '../http/infer-request.js';
import { compareGoldenOutputs } from '../inference/compare-golden-outputs.js';
import type { GoldenExample } from '../registry/ModelManifest.js';
import { parseJson } from '../tensor/parse-json.js';
import type { TargetModel } from './target-model.js';

/** Longest piece of a response quoted in a reason, so a reason stays one readable line. */
export const MAX_QUOTED_RESPONSE_CHARS = 300;

/** What a synchronous Lambda Invoke answered; the SDK's `InvokeCommandOutput` has these fields. */
export interface Invocation {
  /** Set when the function threw or crashed (`Unhandled`) or returned an error (`Handled`). */
  readonly FunctionError?: string | undefined;
  /** The function's result, or its error, as JSON bytes. */
  readonly Payload?: Uint8Array | undefined;
}

/** The error document Lambda returns with a FunctionError. */
const LambdaErrorSchema = z.object({ errorType: z.string().optional(), errorMessage: z.string().optional() });

/** An API Gateway proxy result, as the predict function returns it. */
const ProxyResultSchema = z.object({
  statusCode: z.number().int(),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().optional(),
});

/** The error body of the HTTP contract. */
const ErrorBodySchema = z.object({ error: z.string() });

/** A V2 inference response (`POST /v2/models/{m}/infer`). */
const InferResponseSchema = z.object({
  model_name: z.string(),
  model_version: z.string(),
  outputs: z.array(
    z.object({
      name: z.string(),
      datatype: z.string(),
      shape: z.array(z.number()),
      data: z.array(z.unknown()),
    }),
  ),
});

/** A V2 model readiness response (`GET /v2/models/{m}/ready`). */
const ReadyResponseSchema = z.object({ name: z.string(), version: z.string(), ready: z.literal(true) });

/** Label of the readiness check in reasons. */
export const READY_CHECK_LABEL = 'ready check';

/**
 * Judges the target's answer to one golden example: it must not fail, must answer 200 with a V2 response
 * from the target's model version, and its outputs must match the example's within its tolerance.
 * Returns one reason per problem, naming the example, output and index; none means it passed.
 *
 * @example
 * judgeInferInvocation(await lambda.send(invoke), { label: 'example 1', target, example });
 */
export function judgeInferInvocation(
  invocation: Invocation,
  expectation: { readonly label: string; readonly target: TargetModel; readonly example: GoldenExample },
): string[] {
  const { label, target, example } = expectation;
  const read = readHttpAnswer(invocation, label);
  if ('reasons' in read) return read.reasons;
  let json: unknown;
  try {
    // The exact parser: INT64 values beyond 2^53 arrive as integer literals and must compare exactly.
    json = parseJson(read.body);
  } catch (error) {
    return [`${label}: the response is not JSON: ${messageOf(error)}`];
  }
  const response = InferResponseSchema.safeParse(json);
  if (!response.success) {
    return [`${label}: the response is not a V2 inference response: ${describeIssues(response.error)}`];
  }
  const served = servedElsewhere(label, target, response.data.model_name, response.data.model_version);
  if (served !== undefined) return [served];
  return compareGoldenOutputs(example.outputs, response.data.outputs, example.tolerance, label);
}

/**
 * Judges the target's answer to `GET /v2/models/{m}/ready` (the check for versions without golden
 * examples): it must answer 200, ready, for the target's model version.
 *
 * @example
 * judgeReadyInvocation(await lambda.send(invoke), target); // [] when ready
 */
export function judgeReadyInvocation(invocation: Invocation, target: TargetModel): string[] {
  const read = readHttpAnswer(invocation, READY_CHECK_LABEL);
  if ('reasons' in read) return read.reasons;
  let json: unknown;
  try {
    json = JSON.parse(read.body);
  } catch (error) {
    return [`${READY_CHECK_LABEL}: the response is not JSON: ${messageOf(error)}`];
  }
  const response = ReadyResponseSchema.safeParse(json);
  if (!response.success) {
    return [
      `${READY_CHECK_LABEL}: the response is not a V2 ready response: ${describeIssues(response.error)}`,
    ];
  }
  const served = servedElsewhere(READY_CHECK_LABEL, target, response.data.name, response.data.version);
  return served === undefined ? [] : [served];
}

/** The body of a 200 answer, or the reasons the invocation failed before there was one. */
function readHttpAnswer(invocation: Invocation, label: string): { body: string } | { reasons: string[] } {
  const text = new TextDecoder().decode(invocation.Payload ?? new Uint8Array());
  if (invocation.FunctionError !== undefined) {
    return {
      reasons: [`${label}: the function failed (${invocation.FunctionError}): ${describeLambdaError(text)}`],
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { reasons: [`${label}: the function returned no JSON: ${quote(text)}`] };
  }
  const result = ProxyResultSchema.safeParse(json);
  if (!result.success) {
    return { reasons: [`${label}: the function returned no API Gateway proxy result: ${quote(text)}`] };
  }
  const raw = result.data.body ?? '';
  const body = result.data.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (result.data.statusCode !== 200) {
    return { reasons: [`${label}: answered ${result.data.statusCode}: ${describeErrorBody(body)}`] };
  }
  return { body };
}

/** A reason when the response comes from another model or version than the target's; undefined when it matches. */
function servedElsewhere(
  label: string,
  target: TargetModel,
  model: string,
  version: string,
): string | undefined {
  if (model === target.model && version === String(target.version)) return undefined;
  return `${label}: served model "${model}" version ${version}, expected "${target.model}" version ${target.version}`;
}

function describeLambdaError(text: string): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return quote(text);
  }
  const parsed = LambdaErrorSchema.safeParse(json);
  if (!parsed.success || (parsed.data.errorType === undefined && parsed.data.errorMessage === undefined)) {
    return quote(text);
  }
  return quote(
    [parsed.data.errorType, parsed.data.errorMessage].filter((part) => part !== undefined).join(': '),
  );
}

function describeErrorBody(body: string): string {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return quote(body);
  }
  const parsed = ErrorBodySchema.safeParse(json);
  return quote(parsed.success ? parsed.data.error : body);
}

function quote(text: string): string {
  if (text === '') return '(empty)';
  return text.length > MAX_QUOTED_RESPONSE_CHARS ? `${text.slice(0, MAX_QUOTED_RESPONSE_CHARS)}...` : text;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
