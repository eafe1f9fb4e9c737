// The benchmarked serving process without the embedded store: the predict function's pipeline (what Lambda runs,
// model from the orchestrator's store as from S3) behind the API Gateway emulator, as `npm start` serves it.
import { ApiGatewayEmulator } from '../../lib/local/ApiGatewayEmulator.js';
import { createPredictHandler } from '../../lib/serving/create-predict-handler.js';
import { readFunctionConfig } from '../../lib/serving/function-config.js';

const predict = createPredictHandler(readFunctionConfig(process.env));
await predict.warm;
const api = await ApiGatewayEmulator.start({ handler: (event) => predict.handler(event), port: 0 });
process.send?.({ ready: Number(new URL(api.url).port) });
