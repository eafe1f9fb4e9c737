/**
 * Lambda entry of a model's predict function: API Gateway proxy events for one model, served by the
 * version named in the environment (see lib/config/function-config.ts).
 *
 * The module's top-level await holds Lambda's init phase until the model is loaded (within the init budget on
 * demand, always under provisioned concurrency), so no request's Duration contains the model load.
 */
import { readFunctionConfig } from '../../lib/config/function-config.js';
import { createPredictHandler } from '../../lib/serving/create-predict-handler.js';
import { finishLoadInInit } from '../../lib/serving/init-load.js';

const config = readFunctionConfig(process.env);
const predict = createPredictHandler(config);

await finishLoadInInit({
  warm: predict.warm,
  initializationType: process.env.AWS_LAMBDA_INITIALIZATION_TYPE,
  model: config.model,
  version: config.version,
  onDeferred: ({ message, emf }) => {
    process.stdout.write(emf);
    console.warn(JSON.stringify({ level: 'WARN', message, model: config.model, version: config.version }));
  },
});

/** The handler Lambda invokes. */
export const handler = predict.handler;
