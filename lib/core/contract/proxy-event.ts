import type { APIGatewayProxyEvent } from 'aws-lambda';

/** Stage name the golden check's events carry, so the target's logs tell them from API Gateway traffic. */
export const GOLDEN_CHECK_STAGE = 'golden-check';

/** User agent the golden check's events carry. */
export const GOLDEN_CHECK_USER_AGENT = 'sluice-golden-check';

/** What one request of the check says: method, path, optional JSON body and a request id for the logs. */
export interface CheckRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** Serialised JSON body. */
  readonly body?: string;
  /** Request id the target logs and echoes in `x-request-id`. */
  readonly requestId: string;
  /** Request time in ms since the epoch (passed in, so building an event stays pure). */
  readonly requestTimeEpoch: number;
}

/**
 * Builds the API Gateway (REST, proxy integration) event a predict function receives for a request,
 * so the target version is invoked exactly as API Gateway would invoke it.
 *
 * @example
 * buildProxyEvent({ method: 'GET', path: '/v2/models/iris/ready', requestId: 'check-1', requestTimeEpoch: 0 });
 */
export function buildProxyEvent(request: CheckRequest): APIGatewayProxyEvent {
  const headers: Record<string, string> = { 'user-agent': GOLDEN_CHECK_USER_AGENT };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  return {
    resource: request.path,
    path: request.path,
    httpMethod: request.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: request.body ?? null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '',
      apiId: GOLDEN_CHECK_STAGE,
      authorizer: undefined,
      protocol: 'HTTP/1.1',
      httpMethod: request.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '127.0.0.1',
        user: null,
        userAgent: GOLDEN_CHECK_USER_AGENT,
        userArn: null,
      },
      path: request.path,
      stage: GOLDEN_CHECK_STAGE,
      requestId: request.requestId,
      requestTimeEpoch: request.requestTimeEpoch,
      resourceId: GOLDEN_CHECK_STAGE,
      resourcePath: request.path,
    },
  };
}

/** `/v2/models/{m}/ready`: answers 200 once the function's configured version is loaded. */
export function readyPath(model: string): string {
  return `/v2/models/${encodeURIComponent(model)}/ready`;
}

/** `/v2/models/{m}/infer`: the route the alias's clients use, served by the function's configured version. */
export function inferPath(model: string): string {
  return `/v2/models/${encodeURIComponent(model)}/infer`;
}
