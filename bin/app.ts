/**
 * The CDK app (`cdk.json` points here): reads the deployment config and wires the stack.
 * `-c sluiceConfig=path.json` picks another config file.
 */
import { readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as z from 'zod';
import { readDeployConfig } from '../lib/cdk/read-deploy-config.js';
import { SluiceStack } from '../lib/cdk/sluice-stack.js';
import {
  DEFAULT_DEPLOY_CONFIG_FILE,
  type DeployConfig,
  DeployConfigError,
} from '../lib/core/config/deploy-config.js';

const app = new App();
const configPath: unknown = app.node.tryGetContext('sluiceConfig') ?? DEFAULT_DEPLOY_CONFIG_FILE;
if (typeof configPath !== 'string')
  throw new Error(`context sluiceConfig must be a file path; got ${JSON.stringify(configPath)}`);
let config: DeployConfig;
try {
  config = readDeployConfig(configPath);
} catch (error) {
  // A bad config is the user's to fix: say what is wrong, without a stack trace.
  if (!(error instanceof DeployConfigError)) throw error;
  process.stderr.write(`sluice: ${error.message}\n`);
  process.exit(1);
}
// `GET /v2` reports the sluice version that was deployed.
const { version: serverVersion } = z
  .object({ version: z.string() })
  .parse(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')));
new SluiceStack(app, config.stackName, {
  config,
  serverVersion,
  description: 'sluice: serverless ONNX inference',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
