import { readFileSync } from 'node:fs';
import { type DeployConfig, DeployConfigError, parseDeployConfig } from '../core/config/deploy-config.js';

/**
 * Reads and parses a deployment configuration file (`sluice.config.json`): the CDK app's one read of it.
 *
 * @example
 * const config = readDeployConfig('sluice.config.json');
 */
export function readDeployConfig(path: string): DeployConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new DeployConfigError(
      `cannot read the deployment config ${path}: ${(error as Error).message}; see "Configuring models and rollouts" in the README`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new DeployConfigError(`${path} is not JSON: ${(error as Error).message}`);
  }
  return parseDeployConfig(raw, path);
}
