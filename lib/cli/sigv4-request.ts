import { createHash } from 'node:crypto';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/** The service and region a request is signed for: SigV4's credential scope. */
export interface SigningScope {
  readonly service: string;
  readonly region: string;
}

/** `ID.execute-api.REGION.amazonaws.com`: an API Gateway endpoint, signed for `execute-api`. */
const EXECUTE_API_HOST = /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/;

/** `ID.lambda-url.REGION.on.aws`: a Lambda function URL, signed for `lambda`. */
const FUNCTION_URL_HOST = /^[a-z0-9]+\.lambda-url\.([a-z0-9-]+)\.on\.aws$/;

/**
 * The scope a URL's requests are signed for, read from its host: `execute-api` for API Gateway's own endpoints
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html),
 * `lambda` for function URLs (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html); undefined for any
 * other host (a custom domain, CloudFront), whose service and region the caller must give.
 *
 * @example
 * signingScopeOf(new URL('https://abc123.execute-api.eu-west-1.amazonaws.com/prod')); // { service: 'execute-api', region: 'eu-west-1' }
 */
export function signingScopeOf(url: URL): SigningScope | undefined {
  const api = EXECUTE_API_HOST.exec(url.hostname);
  if (api) return { service: 'execute-api', region: api[1] as string };
  const lambda = FUNCTION_URL_HOST.exec(url.hostname);
  if (lambda) return { service: 'lambda', region: lambda[1] as string };
  return undefined;
}

/** What {@link signRequest} signs. */
export interface RequestToSign {
  readonly url: URL;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * The headers of a request signed with SigV4 as an AWS SDK client signs it (`@smithy/signature-v4`, the SDK's
 * SHA-256): `authorization`, `x-amz-date`, the session token when the credentials have one, and
 * `x-amz-content-sha256` with the body's hash, which a function URL behind CloudFront's origin access control needs
 * on every POST (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-lambda.html)
 * and API Gateway takes as a signed header like any other.
 *
 * @example
 * const headers = await signRequest(request, { service: 'execute-api', region: 'eu-west-1' }, credentials, new Date());
 */
export async function signRequest(
  request: RequestToSign,
  scope: SigningScope,
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider,
  signingDate: Date,
): Promise<Record<string, string>> {
  const { url } = request;
  const signer = new SignatureV4({ ...scope, credentials, sha256: Sha256 });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port === '' ? {} : { port: Number(url.port) }),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: {
        ...request.headers,
        host: url.host,
        'x-amz-content-sha256': createHash('sha256').update(request.body).digest('hex'),
      },
      body: request.body,
    },
    { signingDate },
  );
  return signed.headers as Record<string, string>;
}
