import { S3Client } from '@aws-sdk/client-s3';

/** Credentials the embedded store accepts (it checks none). */
const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/**
 * Creates the S3 client for the registry: the default AWS credentials (in a function's bundle, the environment's:
 * see lib/cdk/private/environment-credentials.ts), or the embedded store's when an endpoint is given.
 *
 * @example
 * const client = createS3Client({ region: 'eu-west-1' });
 */
export function createS3Client(options: { region: string; endpoint?: string | undefined }): S3Client {
  // A bucket in another region than the one given answers 301 with its own region: follow it, as the AWS CLI does.
  if (!options.endpoint) return new S3Client({ region: options.region, followRegionRedirects: true });
  return new S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: true,
    credentials: LOCAL_CREDENTIALS,
    // S3-compatible stores such as the embedded one store aws-chunked framing verbatim; checksum only when S3 requires it.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
