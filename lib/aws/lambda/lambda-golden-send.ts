import { InvocationType, InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as z from 'zod';
import { buildProxyEvent } from '../../core/contract/proxy-event.js';
import {
  type GoldenHttpAnswer,
  type GoldenRequest,
  type GoldenSend,
  quoteAnswer,
} from '../../core/golden/http-golden-transport.js';
import { GoldenTransportError } from '../../core/golden/run-golden-check.js';

/** What a synchronous Lambda Invoke answered; the SDK's `InvokeCommandOutput` has these fields. */
export interface Invocation {
  /** Set when the function threw or crashed (`Unhandled`) or returned an error (`Handled`). */
  readonly FunctionError?: string | undefined;
  /** The function's result, or its error, as JSON bytes. */
  readonly Payload?: Uint8Array | undefined;
}

/** What {@link lambdaGoldenSend} takes. */
export interface LambdaGoldenSendProps {
  readonly lambda: LambdaClient;
  /** The predict function's name or ARN. */
  readonly functionName: string;
  /** The published Lambda version under test (Invoke's `Qualifier`). */
  readonly qualifier: string;
  /**
   * The clock for the events' request time.
   * @default Date.now
   */
  readonly now?: () => number;
}

/** Stage name the golden check's events carry, so the target's logs tell them from API Gateway traffic. */
export const GOLDEN_CHECK_STAGE = 'golden-check';

/** User agent the golden check's events carry. */
export const GOLDEN_CHECK_USER_AGENT = 'sluice-golden-check';

/** The error document Lambda returns with a FunctionError. */
const LambdaErrorSchema = z.object({ errorType: z.string().optional(), errorMessage: z.string().optional() });

/** An API Gateway proxy result, as the predict function returns it. */
const ProxyResultSchema = z.object({
  statusCode: z.number().int(),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().optional(),
});

/**
 * The Lambda Invoke transport of the golden check: each request as the API Gateway (REST, proxy) event the
 * function receives behind the alias, invoked synchronously on one published Lambda version, its proxy result
 * read back as an HTTP answer. A function error or a result that is not a proxy result throws
 * {@link GoldenTransportError} naming it.
 *
 * @example
 * const send = lambdaGoldenSend({ lambda, functionName: 'Sluice-Iris-AbC', qualifier: '7' });
 */
export function lambdaGoldenSend(props: LambdaGoldenSendProps): GoldenSend {
  const now = props.now ?? Date.now;
  return async (request: GoldenRequest): Promise<GoldenHttpAnswer> => {
    const event = goldenProxyEvent(request, now());
    const invocation = await props.lambda.send(
      new InvokeCommand({
        FunctionName: props.functionName,
        Qualifier: props.qualifier,
        InvocationType: InvocationType.RequestResponse,
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
    );
    return httpAnswerOf(invocation);
  };
}

/**
 * The API Gateway (REST, proxy) event of one golden check request, so the version under test is invoked as API
 * Gateway would invoke it; its stage and user agent tell it from API traffic in the function's logs.
 *
 * @example
 * goldenProxyEvent({ method: 'GET', path: '/v2/models/iris/ready', requestId: 'check-1' }, Date.now());
 */
export function goldenProxyEvent(request: GoldenRequest, requestTimeEpoch: number): APIGatewayProxyEvent {
  const headers: Record<string, string> = { 'user-agent': GOLDEN_CHECK_USER_AGENT };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  return buildProxyEvent({
    method: request.method,
    path: request.path,
    headers,
    body: request.body,
    requestId: request.requestId,
    requestTimeEpoch,
    stage: GOLDEN_CHECK_STAGE,
    apiId: GOLDEN_CHECK_STAGE,
    resourceId: GOLDEN_CHECK_STAGE,
  });
}

/**
 * The HTTP answer inside an invocation's proxy result (base64 bodies decoded); throws
 * {@link GoldenTransportError} for a function error or a payload that is not a proxy result.
 */
export function httpAnswerOf(invocation: Invocation): GoldenHttpAnswer {
  const text = new TextDecoder().decode(invocation.Payload ?? new Uint8Array());
  if (invocation.FunctionError !== undefined) {
    throw new GoldenTransportError(
      `the function failed (${invocation.FunctionError}): ${describeLambdaError(text)}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new GoldenTransportError(`the function returned no JSON: ${quoteAnswer(text)}`);
  }
  const result = ProxyResultSchema.safeParse(json);
  if (!result.success) {
    throw new GoldenTransportError(`the function returned no API Gateway proxy result: ${quoteAnswer(text)}`);
  }
  const raw = result.data.body ?? '';
  return {
    status: result.data.statusCode,
    body: result.data.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw,
  };
}

function describeLambdaError(text: string): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return quoteAnswer(text);
  }
  const parsed = LambdaErrorSchema.safeParse(json);
  if (!parsed.success || (parsed.data.errorType === undefined && parsed.data.errorMessage === undefined)) {
    return quoteAnswer(text);
  }
  return quoteAnswer(
    [parsed.data.errorType, parsed.data.errorMessage].filter((part) => part !== undefined).join(': '),
  );
}
