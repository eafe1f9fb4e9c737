/**
 * Lambda entry of a model's predict function: API Gateway proxy events for one model, served by the
 * version named in the environment (see lib/config/function-config.ts).
 */
import { readFunctionConfig } from '../../lib/config/function-config.js';
import { createPredictHandler } from '../../lib/serving/create-predict-handler.js';

const predict = createPredictHandler(readFunctionConfig(process.env));

/** The handler Lambda invokes. */
export const handler = predict.handler;
