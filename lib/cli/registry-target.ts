import { runningLocalStack } from '../local/local-home.js';
import { LazyObjectStore } from '../storage/LazyObjectStore.js';
import { ModelRegistry } from '../storage/ModelRegistry.js';
import type { S3ObjectStore } from '../storage/S3ObjectStore.js';
import { UsageError } from './exit-codes.js';

/** Region the clients of the local store sign for; the embedded store accepts any. */
const LOCAL_REGION = 'us-east-1';

/** Options every registry command accepts. */
export interface TargetOptions {
  readonly local?: boolean;
  readonly bucket?: string;
  readonly region?: string;
  readonly endpoint?: string;
}

/** A registry to talk to, and a phrase naming it for messages. */
export interface RegistryTarget {
  readonly registry: ModelRegistry;
  /**
   * The registry bucket as an object store; rollout states live in the same bucket. Its S3 client is loaded at the
   * first read or write, so a command that only asks the local stack never loads it.
   */
  readonly objects: LazyObjectStore<S3ObjectStore>;
  /** The registry bucket. */
  readonly bucket: string;
  /** AWS region of the bucket (the local store's dummy region with `--local`). */
  readonly region: string;
  readonly description: string;
  /** The local stack's API URL, with `--local`. */
  readonly apiUrl?: string;
  /** The local stack's control token, with `--local` (its rollout commands carry it). */
  readonly controlToken?: string;
}

/**
 * The region the AWS CLI would use: `AWS_REGION`, `AWS_DEFAULT_REGION`, then the SDK's own chain, which reads the
 * `region` of the profile (`AWS_PROFILE`, `~/.aws/config`, `AWS_CONFIG_FILE`). A usage error when none is set:
 * guessing one would send Lambda and CloudWatch calls to a region where the stack is not.
 */
async function defaultRegion(env: Record<string, string | undefined>): Promise<string> {
  const fromEnv = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (fromEnv) return fromEnv;
  try {
    // A client without a region resolves it the SDK's way: environment, then the shared config file's profile.
    const { S3Client } = await import('@aws-sdk/client-s3');
    return await new S3Client({}).config.region();
  } catch (error) {
    throw new UsageError(
      'no AWS region: pass --region, set AWS_REGION, or give your AWS profile one (`aws configure set region eu-west-1`)',
      { cause: error },
    );
  }
}

/**
 * Picks the registry a command works on: the running local stack with `--local`, otherwise the bucket
 * from `--bucket` or SLUICE_BUCKET (and `--endpoint`/SLUICE_S3_ENDPOINT for S3-compatible stores), in the region
 * of `--region` or the AWS CLI's chain (environment, then the profile's region).
 */
export async function resolveRegistryTarget(
  options: TargetOptions,
  env: Record<string, string | undefined> = process.env,
): Promise<RegistryTarget> {
  if (options.local) {
    const info = await runningLocalStack(env);
    const objects = s3Objects({ region: LOCAL_REGION, endpoint: info.s3Endpoint, bucket: info.bucket });
    return {
      registry: new ModelRegistry({ store: objects }),
      objects,
      bucket: info.bucket,
      region: LOCAL_REGION,
      description: `local stack (${info.apiUrl})`,
      apiUrl: info.apiUrl,
      controlToken: info.controlToken,
    };
  }
  const bucket = options.bucket ?? env.SLUICE_BUCKET;
  if (!bucket) {
    throw new UsageError(
      'no registry given: pass --local for the local stack, or --bucket NAME (or set SLUICE_BUCKET) for S3',
    );
  }
  const endpoint = options.endpoint ?? env.SLUICE_S3_ENDPOINT;
  const region = options.region ?? (await defaultRegion(env));
  const objects = s3Objects({ region, endpoint, bucket });
  return {
    registry: new ModelRegistry({ store: objects }),
    objects,
    bucket,
    region,
    description: `s3://${bucket}`,
  };
}

/** The bucket as a store whose S3 client (and the SDK with it) is loaded at the first read or write. */
function s3Objects(options: {
  readonly region: string;
  readonly endpoint: string | undefined;
  readonly bucket: string;
}): LazyObjectStore<S3ObjectStore> {
  return new LazyObjectStore({
    open: async () => {
      const [{ createS3Client }, { S3ObjectStore }] = await Promise.all([
        import('../storage/create-s3-client.js'),
        import('../storage/S3ObjectStore.js'),
      ]);
      const client = createS3Client({ region: options.region, endpoint: options.endpoint });
      return new S3ObjectStore({ client, bucket: options.bucket });
    },
    locate: (key) => `s3://${options.bucket}/${key}`,
  });
}
