/**
 * `npm start`: the local stack on 127.0.0.1 (PORT, SLUICE_HOME override the defaults); `npm start -- --allow-actions`
 * gives the console page promote and rollback buttons.
 */
// The SDK warns on every client when it runs on a Node older than 22 (platforms without the project's own Node 24).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { parseArgs } from 'node:util';
import { DEFAULT_DEPLOY_CONFIG_FILE } from '../lib/core/config/deploy-config.js';
import type { CorsSettings } from '../lib/core/contract/cors.js';
import { HomeInUseError } from '../lib/local/HomeLock.js';
import { DEFAULT_LOCAL_PORT, LocalStack } from '../lib/local/LocalStack.js';
import { type LocalConfig, readLocalConfig, readLocalCors } from '../lib/local/local-config.js';
import { sluiceHome } from '../lib/local/local-home.js';

let allowActions: boolean;
try {
  allowActions = parseArgs({ options: { 'allow-actions': { type: 'boolean', default: false } } }).values[
    'allow-actions'
  ];
} catch (error) {
  process.stderr.write(`sluice: ${(error as Error).message}\nusage: npm start [-- --allow-actions]\n`);
  process.exit(2);
}
const port = process.env.PORT ? Number(process.env.PORT) : DEFAULT_LOCAL_PORT;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`PORT must be a port number (0-65535); got ${JSON.stringify(process.env.PORT)}\n`);
  process.exit(2);
}
let config: LocalConfig;
let cors: CorsSettings | undefined;
try {
  config = readLocalConfig(process.env);
  cors = await readLocalCors(process.env.SLUICE_CONFIG ?? DEFAULT_DEPLOY_CONFIG_FILE);
} catch (error) {
  process.stderr.write(`sluice: ${(error as Error).message}\n`);
  process.exit(2);
}
const home = sluiceHome();
const stack = await LocalStack.start({
  home,
  port,
  config,
  consoleActions: allowActions,
  ...(cors ? { cors } : {}),
  logRequests: process.env.SLUICE_LOG_REQUESTS === 'true',
}).catch((error: Error) => {
  if (error instanceof HomeInUseError) {
    process.stderr.write(`sluice: could not start the local stack: ${error.message}\n`);
    process.exit(1);
  }
  const hint =
    (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? ` (port ${port} is taken: set PORT=...)` : '';
  process.stderr.write(`sluice: could not start the local stack: ${error.message}${hint}\n`);
  process.exit(1);
});
const url = stack.apiUrl;
const models = await stack.registry.listModels();
process.stdout.write(
  [
    `sluice local stack on ${url}  (data in ${home}, embedded S3 at ${stack.store.endpoint})`,
    ...stack.publishedSamples.map(
      (sample) => `published sample model ${sample.model} version ${sample.version}`,
    ),
    `models: ${models.join(', ') || 'none'}`,
    '',
    `Console: ${url}/  (models, rollouts and their gates${allowActions ? ', with promote and rollback' : '; npm start -- --allow-actions adds promote and rollback'})`,
    `API docs: ${url}/docs  (OpenAPI: ${url}/openapi.json)`,
    '',
    'Endpoints:',
    `  GET  ${url}/v2                                  server metadata`,
    `  GET  ${url}/v2/health/live | /v2/health/ready`,
    `  GET  ${url}/v2/models/{model}[/versions/{v}]     model metadata`,
    `  POST ${url}/v2/models/{model}[/versions/{v}]/infer   Open Inference Protocol V2`,
    `  POST ${url}/models/{model}/predict               simple JSON form`,
    `  GET  ${url}/metrics                              Prometheus metrics`,
    `  GET  ${url}/_sluice/health/{model}?version=N     local health window (what rollouts gate on)`,
    `  GET  ${url}/_sluice/rollouts/{model}              a model's rollout (sluice deploy/promote/rollback --local act here)`,
    '',
    `Rollouts: unversioned routes follow each model's local alias (sluice deploy/promote/rollback/status --local);`,
    'the stack takes each step on evidence (20 requests per step by default) and rolls a candidate back on its own',
    `at ${config.health.errorRatePercent}% errors, ${config.health.p99LatencyMs} ms p99, ${config.health.invalidOutputs} NaN output value(s), or refusing ${config.health.rejectedInputsPercent} points more inputs than stable`,
    '(SLUICE_LOCAL_MAX_ERROR_RATE, SLUICE_LOCAL_MAX_P99_MS, SLUICE_LOCAL_MAX_INVALID_OUTPUTS, SLUICE_LOCAL_MAX_REJECTED_INCREASE).',
    '',
    'Try:',
    `  curl -s ${url}/models/iris/predict -H 'content-type: application/json' -d '{"instances": [[5.1, 3.5, 1.4, 0.2]]}'`,
    `  npx sluice publish model.onnx --model iris --local       # the next version of iris`,
    `  npx sluice deploy iris --version 2 --strategy canary --interval 30s --local`,
    '',
  ].join('\n'),
);
let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
