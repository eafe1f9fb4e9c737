import { readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as z from 'zod';
import { SluiceStack } from '../../lib/cdk/sluice-stack.js';
import { type DeployConfig, parseDeployConfig } from '../../lib/core/config/deploy-config.js';

/** A valid sha256 for configs in tests. */
export const SHA_A = 'a'.repeat(64);
/** Another valid sha256. */
export const SHA_B = 'b'.repeat(64);

const CdkJsonSchema = z.object({ context: z.record(z.string(), z.unknown()) });

/**
 * The context `cdk.json` gives the app (CDK's feature flags, which change templates): every app the tests build
 * starts from it, so what they assert on is what `cdk synth` writes.
 */
export const CDK_CONTEXT: Readonly<Record<string, unknown>> = CdkJsonSchema.parse(
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')),
).context;

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
 * `nag` adds the AwsSolutions checks as the app does; `extend` adds constructs before synthesis; `agnostic` leaves
 * the stack's account and region unknown, as `bin/app.ts` does (the tests otherwise name one, to read ARNs);
 * `cdkJson: false` builds the app without cdk.json's context (an app that sets no feature flag).
 */
export function synth(
  config: DeployConfig,
  options: {
    nag?: boolean;
    extend?: (stack: SluiceStack) => void;
    agnostic?: boolean;
    cdkJson?: boolean;
  } = {},
): { stack: SluiceStack; template: Template } {
  const context = options.cdkJson === false ? {} : CDK_CONTEXT;
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  const stack = new SluiceStack(app, 'Test', {
    config,
    ...(options.agnostic ? {} : { env: { account: '123456789012', region: 'eu-west-1' } }),
  });
  options.extend?.(stack);
  if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  const template = Template.fromStack(stack);
  return { stack, template };
}
