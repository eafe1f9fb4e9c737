import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2WithRequestContext,
  APIGatewayProxyResult,
  APIGatewayProxyStructuredResultV2,
} from 'aws-lambda';
import { buildProxyEvent } from '../core/contract/proxy-event.js';

/**
 * The part of a payload format 2.0 event the app needs: what an HTTP API's Lambda integration sends with
 * `payloadFormatVersion: "2.0"` (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html)
 * and what a Lambda function URL sends, the same schema (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html).
 */
export type HttpEventV2 = Pick<
  APIGatewayProxyEventV2WithRequestContext<unknown>,
  'version' | 'routeKey' | 'rawPath' | 'rawQueryString' | 'cookies' | 'headers' | 'body' | 'pathParameters'
> & {
  readonly isBase64Encoded?: boolean;
  readonly requestContext: {
    readonly accountId?: string;
    readonly apiId?: string;
    readonly domainName?: string;
    readonly requestId: string;
    readonly stage?: string;
    /** Epoch milliseconds; a number in API Gateway's example, a string in the function URL table's. */
    readonly timeEpoch: number | string;
    readonly http: { readonly method: string; readonly protocol?: string; readonly sourceIp?: string };
  };
};

/** The route key of a request that matched no route but the catch-all (`$default`), and of every function URL request. */
const DEFAULT_ROUTE = '$default';

/** True for a payload format 2.0 event (HTTP API 2.0 or a function URL); REST events carry no `version`. */
export function isHttpEventV2(event: unknown): event is HttpEventV2 {
  return (
    typeof event === 'object' &&
    event !== null &&
    'version' in event &&
    event.version === '2.0' &&
    'rawPath' in event &&
    'requestContext' in event
  );
}

/**
 * The REST proxy event the app reads, made from a 2.0 event: method from `requestContext.http.method`; `resource`
 * from the route key (`ANY /v2/models/iris/{proxy+}` gives `/v2/models/iris/{proxy+}`, filled from `pathParameters`
 * by `resourcePath`, so a custom domain's API mapping, which `rawPath` leaves out, does not matter); `path` from
 * `rawPath` (a `$default` route and every function URL request, whose route key is `$default`); every value of a
 * repeated query parameter from `rawQueryString` (2.0's `queryStringParameters` joins them with commas); the
 * `cookies` back into one `cookie` header (2.0 takes them out of `headers`); body and `isBase64Encoded` as given
 * (2.0 base64-encodes a body whose content type is binary).
 *
 * @example
 * fromHttpEventV2(event).httpMethod; // 'POST'
 */
export function fromHttpEventV2(event: HttpEventV2): APIGatewayProxyEvent {
  const context = event.requestContext;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name] = value;
  }
  if (event.cookies && event.cookies.length > 0 && headers.cookie === undefined)
    headers.cookie = event.cookies.join('; ');
  const pathParameters: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.pathParameters ?? {})) {
    if (value !== undefined) pathParameters[name] = value;
  }
  const space = event.routeKey.indexOf(' ');
  const resource =
    event.routeKey === DEFAULT_ROUTE || space < 0 ? undefined : event.routeKey.slice(space + 1);
  return buildProxyEvent({
    method: context.http.method,
    path: event.rawPath,
    ...(resource === undefined ? {} : { resource }),
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    ...(event.rawQueryString ? { query: new URLSearchParams(event.rawQueryString) } : {}),
    headers,
    ...(event.body === undefined ? {} : { body: event.body }),
    isBase64Encoded: event.isBase64Encoded === true,
    requestId: context.requestId,
    requestTimeEpoch: Number(context.timeEpoch),
    ...(context.stage === undefined ? {} : { stage: context.stage }),
    ...(context.domainName === undefined ? {} : { domainName: context.domainName }),
    ...(context.http.sourceIp === undefined ? {} : { sourceIp: context.http.sourceIp }),
    ...(context.http.protocol === undefined ? {} : { protocol: context.http.protocol }),
    ...(context.accountId === undefined ? {} : { accountId: context.accountId }),
    ...(context.apiId === undefined ? {} : { apiId: context.apiId }),
  });
}

/**
 * The 2.0 result of an app result: status, headers, body and `isBase64Encoded` as they are (a 2.0 result with
 * `isBase64Encoded: true` is decoded to bytes for the client, with no Accept negotiation); multi-value headers
 * joined with commas, and `set-cookie` values moved to `cookies`, as 2.0 results have no `multiValueHeaders`
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html#http-api-develop-integrations-lambda.response).
 *
 * @example
 * toHttpResultV2({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{}' });
 */
export function toHttpResultV2(result: APIGatewayProxyResult): APIGatewayProxyStructuredResultV2 {
  const headers: Record<string, boolean | number | string> = { ...result.headers };
  const cookies: string[] = [];
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    const texts = values.map(String);
    if (name.toLowerCase() === 'set-cookie') cookies.push(...texts);
    else headers[name] = texts.join(',');
  }
  return {
    statusCode: result.statusCode,
    headers,
    body: result.body,
    isBase64Encoded: result.isBase64Encoded === true,
    ...(cookies.length > 0 ? { cookies } : {}),
  };
}

/** A handler of REST proxy events, as `createPredictHandler` makes it. */
export type RestProxyHandler<TContext> = (
  event: APIGatewayProxyEvent,
  context?: TContext,
) => Promise<APIGatewayProxyResult>;

/**
 * A handler for every door: REST proxy events go to `handle` as they are; 2.0 events (HTTP API, function URL) are
 * turned into one ({@link fromHttpEventV2}) and its result back ({@link toHttpResultV2}), so the app never sees which
 * door a request came through.
 *
 * @example
 * export const handler = acceptEveryDoor(createPredictHandler(config).handler);
 */
export function acceptEveryDoor<TContext>(
  handle: RestProxyHandler<TContext>,
): (
  event: APIGatewayProxyEvent | HttpEventV2,
  context?: TContext,
) => Promise<APIGatewayProxyResult | APIGatewayProxyStructuredResultV2> {
  return async (event, context) => {
    if (!isHttpEventV2(event)) return handle(event, context);
    return toHttpResultV2(await handle(fromHttpEventV2(event), context));
  };
}
