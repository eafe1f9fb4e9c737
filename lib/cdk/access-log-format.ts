import * as apigateway from 'aws-cdk-lib/aws-apigateway';

/**
 * The fields of every API access log line, one JSON object per request: CDK's standard fields plus what a failed
 * or slow request needs to be explained without the function's logs: the integration's error message (e.g. Lambda
 * refusing a body over 6 MB, or a throttled invoke), the integration's latency next to the whole response's, the
 * integration status, the API key id (which client; never the key itself), the resource path the request
 * matched and the X-Ray trace id. Variables as API Gateway documents them for access logging
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-variables-for-access-logging.html).
 */
export const ACCESS_LOG_FIELDS = {
  requestId: apigateway.AccessLogField.contextRequestId(),
  extendedRequestId: apigateway.AccessLogField.contextExtendedRequestId(),
  ip: apigateway.AccessLogField.contextIdentitySourceIp(),
  caller: apigateway.AccessLogField.contextIdentityCaller(),
  user: apigateway.AccessLogField.contextIdentityUser(),
  apiKeyId: apigateway.AccessLogField.contextIdentityApiKeyId(),
  requestTime: apigateway.AccessLogField.contextRequestTime(),
  httpMethod: apigateway.AccessLogField.contextHttpMethod(),
  path: apigateway.AccessLogField.contextPath(),
  resourcePath: apigateway.AccessLogField.contextResourcePath(),
  protocol: apigateway.AccessLogField.contextProtocol(),
  status: apigateway.AccessLogField.contextStatus(),
  responseLength: apigateway.AccessLogField.contextResponseLength(),
  responseLatency: apigateway.AccessLogField.contextResponseLatency(),
  integrationStatus: apigateway.AccessLogField.contextIntegrationStatus(),
  integrationLatency: apigateway.AccessLogField.contextIntegrationLatency(),
  integrationErrorMessage: apigateway.AccessLogField.contextIntegrationErrorMessage(),
  errorMessage: apigateway.AccessLogField.contextErrorMessageString(),
  errorResponseType: apigateway.AccessLogField.contextErrorResponseType(),
  xrayTraceId: apigateway.AccessLogField.contextXrayTraceId(),
} as const;

/**
 * The access log format of the inference API's stage: {@link ACCESS_LOG_FIELDS} as one JSON object per line.
 *
 * @example
 * import * as apigateway from 'aws-cdk-lib/aws-apigateway';
 * new apigateway.RestApi(this, 'Api', { deployOptions: { accessLogDestination, accessLogFormat: accessLogFormat() } });
 */
export function accessLogFormat(): apigateway.AccessLogFormat {
  return apigateway.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS));
}
