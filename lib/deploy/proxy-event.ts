import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { GoldenExample, TensorSpec } from '../registry/ModelManifest.js';
import { stringifyJson } from '../tensor/encode-tensor.js';

/** Stage name the check's events carry, so the target's logs tell them from API Gateway traffic. */
export const PRE_TRAFFIC_STAGE = 'pre-traffic';

/** User agent the check's events carry. */
export const PRE_TRAFFIC_USER_AGENT = 'sluice-pre-traffic-check';

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
  const headers: Record<string, string> = { 'user-agent': PRE_TRAFFIC_USER_AGENT };
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
      apiId: PRE_TRAFFIC_STAGE,
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
        userAgent: PRE_TRAFFIC_USER_AGENT,
        userArn: null,
      },
      path: request.path,
      stage: PRE_TRAFFIC_STAGE,
      requestId: request.requestId,
      requestTimeEpoch: request.requestTimeEpoch,
      resourceId: PRE_TRAFFIC_STAGE,
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

/**
 * The V2 inference request body for a golden example: its inputs (datatype filled in from the model's
 * signature where the example leaves it out, as the in-process check does) and only the outputs it
 * expects. 64-bit integers given as bigint are written as exact integer literals.
 *
 * Throws when the example names an input the model does not have and gives no datatype for it.
 *
 * @example
 * goldenInferBody(manifest.goldenExamples[0], manifest.inputs, 'pre-traffic-1');
 */
export function goldenInferBody(
  example: GoldenExample,
  inputSpecs: readonly TensorSpec[],
  id: string,
): string {
  const inputs = example.inputs.map((input) => {
    const datatype = input.datatype ?? inputSpecs.find((spec) => spec.name === input.name)?.datatype;
    if (datatype === undefined) {
      throw new Error(`input "${input.name}" is not an input of the model and gives no datatype`);
    }
    return { name: input.name, shape: input.shape, datatype, data: input.data };
  });
  return stringifyJson({ id, inputs, outputs: example.outputs.map((output) => ({ name: output.name })) });
}
