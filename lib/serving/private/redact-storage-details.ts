/** `s3://bucket/key`: names the bucket, which callers of the API have no business knowing. */
const S3_URL_PATTERN = /s3:\/\/[^\s"'`,;)]+/g;

/** ARNs, as S3's AccessDenied messages carry them (account id, role, bucket). */
const ARN_PATTERN = /arn:aws[a-z-]*:[^\s"'`,;)]+/g;

/** AWS endpoint host names; virtual-hosted S3 ones start with the bucket name. */
const AWS_HOST_PATTERN = /[a-z0-9][a-z0-9.-]*\.amazonaws\.com(?::\d+)?/gi;

/**
 * A server-side error message with the storage details taken out (bucket names, object URLs, ARNs, AWS hosts), for
 * response bodies; the log keeps the original. `s3://b/models/iris/3/manifest.json is not JSON` becomes
 * `the stored manifest.json is not JSON`.
 *
 * @example
 * redactStorageDetails('s3://my-bucket/models/iris/3/manifest.json is not JSON'); // 'the stored manifest.json is not JSON'
 */
export function redactStorageDetails(message: string): string {
  return message
    .replace(S3_URL_PATTERN, (url) => `the stored ${url.slice(url.lastIndexOf('/') + 1) || 'object'}`)
    .replace(ARN_PATTERN, 'a resource of the model store')
    .replace(AWS_HOST_PATTERN, 'the model store');
}
