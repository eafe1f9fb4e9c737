import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SluiceStack } from '../../lib/cdk/sluice-stack.js';
import { type DeployConfig, parseDeployConfig } from '../../lib/core/config/deploy-config.js';

/** A valid sha256 for configs in tests. */
export const SHA_A = 'a'.repeat(64);
/** Another valid sha256. */
export const SHA_B = 'b'.repeat(64);

/** A config with one model, overridable field by field. */
export function configWith(
  overrides: Record<string, unknown> = {},
  model: Record<string, unknown> = {},
): DeployConfig {
  return parseDeployConfig(
    { ...overrides, models: [{ name: 'iris', version: 1, sha256: SHA_A, ...model }] },
    'test config',
  );
}

/**
 * Synthesizes the stack without bundling (template assertions do not need the asset) and returns it.
 * `nag` adds the AwsSolutions checks as the app does; `extend` adds constructs before synthesis.
 */
export function synth(
  config: DeployConfig,
  options: { nag?: boolean; extend?: (stack: SluiceStack) => void } = {},
): { stack: SluiceStack; template: Template } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new SluiceStack(app, 'Test', {
    config,
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  options.extend?.(stack);
  if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  const template = Template.fromStack(stack);
  return { stack, template };
}
