import type { RevisionLocation } from '@aws-sdk/client-codedeploy';
import { z } from 'zod';
import { describeIssues } from '../http/infer-request.js';
import { InvalidAppSpecError } from './deploy-errors.js';
import { parseSimpleYaml } from './private/parse-simple-yaml.js';

/** The resource type of a Lambda alias shift in an AppSpec. */
export const LAMBDA_RESOURCE_TYPE = 'AWS::Lambda::Function';

/**
 * A Lambda version as an AppSpec names it: a number, written as a YAML/JSON string or number, or a
 * version ARN (whose last segment is the number). Normalised to the number's decimal text, which is
 * what `Qualifier` takes.
 */
const LambdaVersionSchema = z
  .union([z.string(), z.number()])
  .transform((value) => String(value).trim())
  .transform((value) => /(?:^|:)([1-9][0-9]*)$/.exec(value)?.[1] ?? value)
  .pipe(
    z.string().regex(/^[1-9][0-9]*$/, 'must be a published Lambda version number (1, 2, ...), not $LATEST'),
  );

/** One `Resources` entry of a Lambda AppSpec. */
const LambdaResourceSchema = z.object({
  Type: z.literal(LAMBDA_RESOURCE_TYPE),
  Properties: z.object({
    Name: z.string().min(1),
    Alias: z.string().min(1),
    CurrentVersion: LambdaVersionSchema.optional(),
    TargetVersion: LambdaVersionSchema,
  }),
});

/**
 * The AppSpec of a CodeDeploy Lambda deployment: exactly one function whose alias moves from
 * `CurrentVersion` to `TargetVersion` (hooks and the format version are not needed here).
 */
export const LambdaAppSpecSchema = z.object({
  version: z.union([z.string(), z.number()]).optional(),
  Resources: z
    .array(
      z
        .record(z.string(), LambdaResourceSchema)
        .refine(
          (entry) => Object.keys(entry).length === 1,
          'each resource is one "name: {Type, Properties}" entry',
        ),
    )
    .length(1, 'a Lambda deployment shifts exactly one function'),
});

/** The function, alias and versions a Lambda deployment shifts traffic between. */
export interface LambdaAppSpecTarget {
  /** The resource's logical name in the AppSpec. */
  readonly resource: string;
  /** Function name or ARN, as `FunctionName` takes it. */
  readonly functionName: string;
  /** The alias being shifted. */
  readonly alias: string;
  /** The version the alias serves now; absent on a first deployment. */
  readonly currentVersion: string | undefined;
  /** The version the alias shifts to: the one to check before it gets traffic. */
  readonly targetVersion: string;
}

/**
 * Reads a Lambda deployment's AppSpec, in JSON or in the block YAML that AppSpecs are written in.
 *
 * Throws {@link InvalidAppSpecError} naming what is wrong; never guesses a function or a version.
 *
 * @example
 * parseAppSpec('{"version":0.0,"Resources":[{"fn":{"Type":"AWS::Lambda::Function","Properties":' +
 *   '{"Name":"iris","Alias":"live","CurrentVersion":"3","TargetVersion":"4"}}}]}');
 * // { resource: 'fn', functionName: 'iris', alias: 'live', currentVersion: '3', targetVersion: '4' }
 */
export function parseAppSpec(content: string): LambdaAppSpecTarget {
  const document = readDocument(content);
  const parsed = LambdaAppSpecSchema.safeParse(document);
  if (!parsed.success) {
    throw new InvalidAppSpecError(`the AppSpec is not a Lambda deployment: ${describeIssues(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  const [entry] = parsed.data.Resources;
  const [resource, spec] = Object.entries(entry ?? {})[0] ?? [];
  if (resource === undefined || spec === undefined) {
    throw new InvalidAppSpecError('the AppSpec names no resource');
  }
  return {
    resource,
    functionName: spec.Properties.Name,
    alias: spec.Properties.Alias,
    currentVersion: spec.Properties.CurrentVersion,
    targetVersion: spec.Properties.TargetVersion,
  };
}

/**
 * The AppSpec text of a deployment's revision: `appSpecContent` (what CloudFormation and CDK deployments
 * carry), or the older `string` revision type.
 *
 * @example
 * const content = appSpecContentOf(deployment.deploymentInfo?.revision);
 */
export function appSpecContentOf(revision: RevisionLocation | undefined): string {
  const content = revision?.appSpecContent?.content ?? revision?.string?.content;
  if (content === undefined) {
    throw new InvalidAppSpecError(
      `the deployment carries no AppSpec content (revision type ${revision?.revisionType ?? 'none'}); only Lambda deployments are checked`,
    );
  }
  return content;
}

/** JSON when it looks like JSON (JSON is YAML, but not the block subset read here); YAML otherwise. */
function readDocument(content: string): unknown {
  const text = content.trim();
  if (text === '') throw new InvalidAppSpecError('the AppSpec is empty');
  if (text.startsWith('{')) {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new InvalidAppSpecError(`the AppSpec is not valid JSON: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }
  try {
    return parseSimpleYaml(text);
  } catch (error) {
    throw new InvalidAppSpecError(`the AppSpec is not valid YAML: ${errorMessage(error)}`, { cause: error });
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
