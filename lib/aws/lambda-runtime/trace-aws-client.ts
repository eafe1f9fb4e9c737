/**
 * What sluice needs of Powertools Tracer (`@aws-lambda-powertools/tracer`): wrapping an AWS SDK v3 client so each
 * of its calls is a subsegment of the invocation's X-Ray trace. Structural, so the code that wires the predict
 * function can pass a `Tracer` without this module importing it.
 */
export interface AwsClientTracer {
  /** Powertools Tracer's `captureAWSv3Client`: instruments the client in place and returns it. */
  captureAWSv3Client<T>(client: T): T;
}

/**
 * The registry's S3 client, traced when a tracer is given: the model fetch (GetObject of the manifest and the
 * bytes) then shows in X-Ray as S3 subsegments of the init or of the request that loaded the model. Without a
 * tracer, the client as it is.
 *
 * @example
 * import { Tracer } from '@aws-lambda-powertools/tracer';
 * const client = traceAwsClient(createS3Client({ region }), new Tracer({ serviceName: 'sluice' }));
 */
export function traceAwsClient<T>(client: T, tracer?: AwsClientTracer): T {
  return tracer === undefined ? client : tracer.captureAWSv3Client(client);
}
