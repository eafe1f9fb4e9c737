import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The query parameter that makes a request a presigned one (SigV4 query-string authentication). */
const ALGORITHM_PARAMETER = 'X-Amz-Algorithm';

/** The only algorithm SigV4 query-string authentication takes. */
const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';

/** What a presigned request signs for its payload unless it names a hash. */
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** The part of a Koa context the check reads and answers through. */
export interface PresignedRequestContext {
  readonly method: string;
  readonly req: IncomingMessage;
  status: number;
  type: string;
  body: unknown;
}

/**
 * Checks the SigV4 signature of a presigned request (query-string authentication) as S3 does, which s3rver does not:
 * it checks a presigned URL's expiry but takes any signature. With the check, the local store refuses what S3
 * refuses, in particular an upload whose `Content-Length` is not the signed one (sluice signs the size of the tensor
 * an upload URL is for). The signature is computed as "Authenticating Requests: Using Query Parameters (AWS Signature
 * Version 4)" describes it (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html): the
 * canonical request (method, path as sent, the sorted query without `X-Amz-Signature`, the signed headers' values,
 * `UNSIGNED-PAYLOAD`), the string to sign over the credential scope, and the HMAC chain of the secret key. A
 * mismatch is answered 403 `SignatureDoesNotMatch`, S3's error; requests that are not presigned pass untouched.
 *
 * @param secretOf the secret key of an access key id, undefined for an unknown one (left to s3rver to refuse)
 */
export function presignedSignatureMiddleware<Context extends PresignedRequestContext>(
  secretOf: (accessKeyId: string) => string | undefined,
  answerError: (ctx: Context, status: number, code: string, message: string) => void,
): (ctx: Context, next: () => Promise<void>) => Promise<void> {
  return async (ctx, next) => {
    const url = ctx.req.url ?? '/';
    const queryStart = url.indexOf('?');
    const query = queryStart < 0 ? '' : url.slice(queryStart + 1);
    const parameters = parseQuery(query);
    const algorithm = parameters.find(([name]) => name === ALGORITHM_PARAMETER)?.[1];
    if (algorithm !== SIGV4_ALGORITHM) return next();
    const value = (name: string) => parameters.find(([candidate]) => candidate === name)?.[1];
    const credential = value('X-Amz-Credential')?.split('/');
    const amzDate = value('X-Amz-Date');
    const signedHeaders = value('X-Amz-SignedHeaders');
    const signature = value('X-Amz-Signature');
    const secret = credential?.[0] === undefined ? undefined : secretOf(credential[0]);
    // Missing parameters and unknown keys: s3rver answers those as S3 would.
    if (credential?.length !== 5 || !amzDate || !signedHeaders || !signature || !secret) {
      return next();
    }
    const [, date = '', region = '', service = ''] = credential;
    const canonicalQuery = parameters
      .filter(([name]) => name !== 'X-Amz-Signature')
      .map(([name, text]) => [uriEncode(name), uriEncode(text)] as const)
      .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
      .map(([name, text]) => `${name}=${text}`)
      .join('&');
    const headerNames = signedHeaders.split(';');
    const canonicalHeaders = headerNames.map((name) => `${name}:${headerValue(ctx.req, name)}\n`).join('');
    const canonicalRequest = [
      ctx.method,
      queryStart < 0 ? url : url.slice(0, queryStart),
      canonicalQuery,
      canonicalHeaders,
      signedHeaders,
      value('X-Amz-Content-Sha256') ?? UNSIGNED_PAYLOAD,
    ].join('\n');
    const scope = `${date}/${region}/${service}/aws4_request`;
    const stringToSign = [SIGV4_ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
    let key: Buffer = hmac(`AWS4${secret}`, date);
    for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
    const expected = Buffer.from(createHmac('sha256', key).update(stringToSign).digest('hex'));
    const provided = Buffer.from(signature);
    if (expected.length === provided.length && timingSafeEqual(expected, provided)) return next();
    ctx.req.resume();
    answerError(
      ctx,
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    );
  };
}

/** A raw query's parameters, decoded, in order (`+` is a plus: SigV4 encodes a space as `%20`). */
function parseQuery(query: string): [string, string][] {
  if (query === '') return [];
  return query.split('&').map((pair) => {
    const equals = pair.indexOf('=');
    const name = equals < 0 ? pair : pair.slice(0, equals);
    const text = equals < 0 ? '' : pair.slice(equals + 1);
    return [safeDecode(name), safeDecode(text)];
  });
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** SigV4's URI encoding: every byte but the unreserved characters `A-Za-z0-9-._~` percent-encoded, in upper case. */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** A header's value as SigV4 canonicalises it: trimmed, runs of spaces made one, repeated headers joined by commas. */
function headerValue(request: IncomingMessage, name: string): string {
  const raw = request.headers[name];
  const values = raw === undefined ? [] : [raw].flat();
  return values.map((value) => value.trim().replace(/\s+/g, ' ')).join(',');
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function hmac(key: string | Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest();
}
