import { CfnOutput, CfnResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { batchPrefix } from '../core/batch/batch-event.js';
import {
  REQUEST_OBJECT_EXPIRY_DAYS,
  REQUESTS_PREFIX,
  requestObjectPrefix,
} from '../core/contract/tensor-objects.js';
import { MODELS_PREFIX } from '../core/manifest/registry-layout.js';
import { ROLLOUTS_PREFIX } from '../core/rollout/rollout-layout.js';

/**
 * The lifecycle rule of `requests/`: objects of tensors sent by reference that nobody deleted (an upload never used,
 * an output never fetched) expire after {@link REQUEST_OBJECT_EXPIRY_DAYS}, as do the versions a function's delete
 * left noncurrent (the bucket is versioned: a DeleteObject without a version id adds a delete marker and keeps the
 * bytes as a noncurrent version), and unfinished multipart uploads (large outputs) are aborted as soon.
 * - In a versioned bucket an expiration makes the current version noncurrent behind a delete marker
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html), and with
 *   an expiration of current versions S3 also removes the delete markers left alone
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ManagingDelMarkers.html).
 * - This rule overlaps the bucket-wide one (30 days for noncurrent versions): "if two expiration policies overlap,
 *   the shorter expiration policy is honored"
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-conflicts.html).
 */
function requestObjectsRule(): s3.LifecycleRule {
  return {
    id: 'RequestObjects',
    prefix: REQUESTS_PREFIX,
    expiration: Duration.days(REQUEST_OBJECT_EXPIRY_DAYS),
    noncurrentVersionExpiration: Duration.days(REQUEST_OBJECT_EXPIRY_DAYS),
    abortIncompleteMultipartUploadAfter: Duration.days(REQUEST_OBJECT_EXPIRY_DAYS),
  };
}

/** The construct id CDK gives the stack's provider of `autoDeleteObjects` (its resource type). */
const AUTO_DELETE_OBJECTS_PROVIDER_ID = 'Custom::S3AutoDeleteObjectsCustomResourceProvider';

/** Properties of {@link RegistryBucket}. */
export interface RegistryBucketProps {
  /**
   * Days S3 keeps noncurrent object versions (overwritten or deleted objects) before deleting them.
   * @default 30
   */
  readonly noncurrentVersionDays?: number;
  /**
   * Keep the bucket, its key and its logs when the stack is deleted.
   * @default true
   */
  readonly retainOnDelete?: boolean;
}

/**
 * The model registry: a versioned S3 bucket encrypted with a customer managed KMS key, TLS only,
 * never public, with server access logs and a lifecycle for noncurrent versions.
 *
 * @example
 * const registry = new RegistryBucket(this, 'Registry');
 * registry.grantReadModel(fn, 'iris');
 */
export class RegistryBucket extends Construct {
  /** The bucket holding `models/NAME/VERSION/...`. */
  readonly bucket: s3.Bucket;
  /** The key that encrypts every model and manifest. */
  readonly key: kms.Key;
  /** Where S3 server access logs go. */
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: RegistryBucketProps = {}) {
    super(scope, id);
    // S3 delivers server access logs as its logging service (logging.s3.amazonaws.com), which the log bucket's policy
    // lets write `registry/*` for this bucket and account only; ACLs are disabled (bucket owner enforced), as S3
    // recommends (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html). CDK writes
    // that policy, instead of the LogDeliveryWrite ACL, under a feature flag: set here, before any child exists, so this
    // construct's buckets do not depend on the app's cdk.json (which sets it too).
    this.node.setContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    const noncurrentVersionDays = props.noncurrentVersionDays ?? 30;
    const removalPolicy = (props.retainOnDelete ?? true) ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const autoDeleteObjects = removalPolicy === RemovalPolicy.DESTROY;

    this.key = new kms.Key(this, 'Key', {
      description: 'sluice model registry',
      enableKeyRotation: true,
      removalPolicy,
    });
    // Server access logs cannot be delivered to a bucket encrypted with a customer managed key (same page).
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy,
      autoDeleteObjects,
    });
    this.bucket = new s3.Bucket(this, 'Bucket', {
      versioned: true,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'registry/',
      lifecycleRules: [
        {
          noncurrentVersionExpiration: Duration.days(noncurrentVersionDays),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
        requestObjectsRule(),
      ],
      removalPolicy,
      autoDeleteObjects,
    });
    if (autoDeleteObjects) this.logAutoDeletes();
    new CfnOutput(this, 'BucketName', {
      value: this.bucket.bucketName,
      description: 'the model registry: npx sluice publish model.onnx --model NAME --bucket <this>',
    });
  }

  /**
   * CDK empties the buckets before deleting them through one handler per stack (a CustomResourceProvider, which takes
   * no log group), whose logs would otherwise go to a group Lambda creates without retention: point it at one with.
   */
  private logAutoDeletes(): void {
    const handler = Stack.of(this)
      .node.tryFindChild(AUTO_DELETE_OBJECTS_PROVIDER_ID)
      ?.node.tryFindChild('Handler');
    if (!(handler instanceof CfnResource)) {
      throw new Error(
        `${this.node.path}: CDK's auto-delete handler is not at ${AUTO_DELETE_OBJECTS_PROVIDER_ID}/Handler of the stack, where its log group is given a retention; got ${handler?.node.path ?? 'nothing'}`,
      );
    }
    const logGroup = new logs.LogGroup(this, 'AutoDeleteObjectsLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    handler.addPropertyOverride('LoggingConfig', { LogGroup: logGroup.logGroupName });
  }

  /**
   * Lets a principal read one model's objects, list that model's prefix, and decrypt with the registry key.
   * Actions are named one by one (no wildcards) and scoped to `models/<model>/`.
   */
  grantReadModel(grantee: iam.IGrantable, model: string): iam.Grant {
    const prefix = `${MODELS_PREFIX}${model}/`;
    return this.grantPrefix(grantee, prefix, ['s3:GetObject'], ['kms:Decrypt']);
  }

  /**
   * Lets a model's function use the objects of tensors sent by reference (`requests/<model>/*`) and nothing else
   * there: get (read an input; a presigned GET of an output), put (a presigned upload; an output, in parts when
   * large, hence AbortMultipartUpload), delete (an input once used), list that prefix only (so a missing object
   * reads as missing, see S3ObjectStore), and encrypt and decrypt with the registry key. A presigned URL acts with
   * the permissions of the principal that signed it and no more: "The credentials used by the presigned URL are
   * those of the AWS Identity and Access Management (IAM) principal who generated the URL"
   * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html), so a client's URL reaches this
   * model's prefix only. Uploading and downloading SSE-KMS objects takes `kms:GenerateDataKey` and `kms:Decrypt`
   * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html,
   * https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions).
   */
  grantRequestObjects(grantee: iam.IGrantable, model: string): iam.Grant {
    return this.grantPrefix(
      grantee,
      requestObjectPrefix(model),
      ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
      ['kms:Decrypt', 'kms:GenerateDataKey'],
    );
  }

  /** Lets a principal read the inputs of a model's batch runs (`batch/<model>/input/*`): its state machine's reader. */
  grantBatchInput(grantee: iam.IGrantable, model: string): iam.Grant {
    return this.grantPrefix(grantee, `${batchPrefix(model)}input/`, ['s3:GetObject'], ['kms:Decrypt']);
  }

  /**
   * Lets a principal write the results of a model's batch runs (`batch/<model>/output/*`): its function's parts, and
   * the state machine's result writer, which uploads in parts
   * (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html).
   */
  grantBatchOutput(grantee: iam.IGrantable, model: string): iam.Grant {
    return this.grantPrefix(
      grantee,
      `${batchPrefix(model)}output/`,
      ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
      ['kms:Decrypt', 'kms:GenerateDataKey'],
    );
  }

  /**
   * Lets a principal read every model's versions and manifests (`models/*`), not write them: the control plane,
   * which checks the golden examples and sha256 of whichever model of the stack it rolls out.
   */
  grantReadModels(grantee: iam.IGrantable): iam.Grant {
    return this.grantPrefix(grantee, MODELS_PREFIX, ['s3:GetObject'], ['kms:Decrypt']);
  }

  /** Lets a principal publish versions of any model and read the registry (a CI publisher, or the CLI's role). */
  grantPublish(grantee: iam.IGrantable): iam.Grant {
    this.key.grant(grantee, 'kms:Decrypt', 'kms:GenerateDataKey');
    iam.Grant.addToPrincipal({ grantee, actions: ['s3:ListBucket'], resourceArns: [this.bucket.bucketArn] });
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
      resourceArns: [this.bucket.arnForObjects(`${MODELS_PREFIX}*`)],
    });
  }

  /**
   * Lets a principal read and write rollout states (`rollouts/NAME/NNNNNNNNNN.json`): list that prefix, get and put
   * its objects, and encrypt and decrypt with the registry key. Nothing under `models/` is granted.
   */
  grantRollouts(grantee: iam.IGrantable): iam.Grant {
    return this.grantPrefix(
      grantee,
      ROLLOUTS_PREFIX,
      ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      ['kms:Decrypt', 'kms:GenerateDataKey'],
    );
  }

  /**
   * The grant every prefix of the bucket gets the same way: `objectActions` on the objects under `prefix`, a
   * listing of that prefix only (an `s3:prefix` condition), and `keyActions` on the registry key.
   */
  private grantPrefix(
    grantee: iam.IGrantable,
    prefix: string,
    objectActions: string[],
    keyActions: string[],
  ): iam.Grant {
    this.key.grant(grantee, ...keyActions);
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:ListBucket'],
      resourceArns: [this.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
    });
    return iam.Grant.addToPrincipal({
      grantee,
      actions: objectActions,
      resourceArns: [this.bucket.arnForObjects(`${prefix}*`)],
    });
  }
}
