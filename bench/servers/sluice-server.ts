// The benchmarked sluice server: the Lambda predict handler behind the local API Gateway emulator,
// with the model fetched from the embedded S3 store the orchestrator runs.
import { readFunctionConfig } from '../../lib/config/function-config.js';
import { ApiGatewayEmulator } from '../../lib/local/ApiGatewayEmulator.js';
import { createPredictHandler } from '../../lib/serving/create-predict-handler.js';

const predict = createPredictHandler(readFunctionConfig(process.env));
await predict.warm;
const api = await ApiGatewayEmulator.start({ handler: (event) => predict.handler(event), port: 0 });
process.send?.({ ready: Number(new URL(api.url).port) });
process.on('message', (message) => {
  if (message === 'rss') process.send?.({ maxRssKb: process.resourceUsage().maxRSS });
});
