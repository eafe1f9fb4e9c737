/**
 * Lambda entry of a model's predict function: API Gateway proxy events for one model, served by the
 * version named in the environment (see lib/config/function-config.ts).
 *
 * The module's top-level await holds Lambda's init phase until the model is loaded (within what is left of Lambda's 10 s init on
 * demand, always under provisioned concurrency), so no request's Duration contains the model load. The S3 client is
 * traced (the model fetch shows in X-Ray) and every log line carries the Lambda context.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { traceAwsClient } from '../../lib/aws/lambda-runtime/trace-aws-client.js';
import { withLambdaContext } from '../../lib/aws/lambda-runtime/with-lambda-context.js';
import { METRICS_SERVICE } from '../../lib/core/metrics/metric-names.js';
import { createPredictHandler } from '../../lib/serving/create-predict-handler.js';
import { readFunctionConfig } from '../../lib/serving/function-config.js';
import { finishLoadInInit } from '../../lib/serving/init-load.js';
import { predictEntry } from '../../lib/serving/predict-entry.js';
import { createS3Client } from '../../lib/storage/create-s3-client.js';

const config = readFunctionConfig(process.env);
const logger = new Logger({ serviceName: METRICS_SERVICE, persistentKeys: { model: config.model } });
// Lambda sets the X-Ray daemon's address only when active tracing is on; the tracer (about 50 ms to load) is loaded
// then alone, before the model fetch starts, so the fetch shows in the trace and untraced starts do not pay for it
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
const tracer = process.env.AWS_XRAY_DAEMON_ADDRESS
  ? new (await import('@aws-lambda-powertools/tracer')).Tracer({ serviceName: METRICS_SERVICE })
  : undefined;
const client = traceAwsClient(createS3Client({ region: config.region, endpoint: config.s3Endpoint }), tracer);
const predict = createPredictHandler(config, { logger, client });

await finishLoadInInit({
  warm: predict.warm,
  initializationType: process.env.AWS_LAMBDA_INITIALIZATION_TYPE,
  model: config.model,
  version: config.version,
  onDeferred: ({ message, emf }) => {
    process.stdout.write(emf);
    logger.warn(message, { version: config.version });
  },
});

/**
 * The handler Lambda invokes: REST proxy events, payload format 2.0 ones (HTTP API, function URL), and the batches
 * of a `sluice batch` run (see predictEntry).
 */
export const handler = withLambdaContext(logger, predictEntry(predict));
