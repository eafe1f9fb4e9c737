import { z } from 'zod';
import { ModelNameSchema } from '../registry/ModelManifest.js';
import { InvalidTargetError } from './deploy-errors.js';

/** The model version a predict function's Lambda version serves, as its environment pins it. */
export interface TargetModel {
  /** SLUICE_MODEL. */
  readonly model: string;
  /** SLUICE_MODEL_VERSION. */
  readonly version: number;
  /** SLUICE_MODEL_SHA256, when the deployment pinned the bytes. */
  readonly sha256: string | undefined;
}

/** The variables of a predict function's environment that say which model version it serves. */
const TargetEnvironmentSchema = z.object({
  SLUICE_MODEL: ModelNameSchema,
  SLUICE_MODEL_VERSION: z.string().regex(/^[1-9][0-9]*$/, 'must be a version number: 1, 2, 3, ...'),
  SLUICE_MODEL_SHA256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')
    .optional(),
});

/**
 * Reads which model version a Lambda version serves from its environment (GetFunctionConfiguration's
 * `Environment.Variables`); throws {@link InvalidTargetError} naming the function, the variable and its value.
 *
 * @example
 * readTargetModel({ SLUICE_MODEL: 'iris', SLUICE_MODEL_VERSION: '4' }, 'iris-fn:7');
 * // { model: 'iris', version: 4, sha256: undefined }
 */
export function readTargetModel(
  variables: Record<string, string> | undefined,
  functionLabel: string,
): TargetModel {
  const environment = variables ?? {};
  const parsed = TargetEnvironmentSchema.safeParse(environment);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    throw new InvalidTargetError(
      `${functionLabel} is not a sluice predict function: ${variable} ${issue?.message ?? 'is invalid'}; got ${JSON.stringify(environment[variable] ?? null)}`,
      { cause: parsed.error },
    );
  }
  return {
    model: parsed.data.SLUICE_MODEL,
    version: Number(parsed.data.SLUICE_MODEL_VERSION),
    sha256: parsed.data.SLUICE_MODEL_SHA256,
  };
}
