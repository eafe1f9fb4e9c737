import { readFile } from 'node:fs/promises';
import { InferenceSession } from 'onnxruntime-node';
import { InvalidModelError } from '../errors/registry-errors.js';
import { requestSizeProblems } from '../http/request-size.js';
import { checkGoldenExamples } from '../inference/check-golden-examples.js';
import { type ModelSignature, readModelSignature } from '../onnx/read-model-signature.js';
import { type ModelManifest, type PublishExtras, PublishExtrasSchema } from '../registry/ModelManifest.js';
import type { ModelRegistry } from '../registry/ModelRegistry.js';
import { UsageError } from './exit-codes.js';

/** What `sluice publish` was asked to do. */
export interface PublishRequest {
  readonly file: string;
  readonly model: string;
  /** A JSON file with labels, goldenExamples and description (PublishExtras). */
  readonly extrasFile?: string;
  /** Comma-separated class labels; overrides the extras file's. */
  readonly labels?: string;
  readonly description?: string;
  /** Publish even when the golden examples do not match here. */
  readonly skipGoldenCheck?: boolean;
  readonly onProgress?: (loaded: number, total: number) => void;
  /** Told of each problem a user should know before calling the model (requests that cannot fit). @default writes `warning: ...` to stderr */
  readonly onWarning?: (message: string) => void;
}

/**
 * Checks a model file the way the function will load it, then publishes it as the next version.
 *
 * The file must open in onnxruntime and its golden examples must pass here, so a broken model is
 * refused before any byte reaches the registry. A model whose fixed input shapes cannot fit one request is
 * published, with a warning naming the limit and the way round it.
 */
export async function publishModel(registry: ModelRegistry, request: PublishRequest): Promise<ModelManifest> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(request.file);
  } catch (error) {
    throw new UsageError(`cannot read ${request.file}: ${(error as Error).message}`);
  }
  const extras = await readExtras(request);
  let signature: ModelSignature;
  try {
    signature = readModelSignature(bytes);
  } catch (error) {
    // The reader's message says what is wrong; the user also needs to know which file it is about.
    if (!(error instanceof InvalidModelError)) throw error;
    throw new InvalidModelError(`${request.file}: ${error.message}`, { cause: error });
  }
  const warn = request.onWarning ?? ((message: string) => process.stderr.write(`warning: ${message}\n`));
  for (const problem of requestSizeProblems(signature.inputs)) warn(`model "${request.model}": ${problem}`);
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(bytes);
  } catch (error) {
    throw new InvalidModelError(`${request.file} does not load in onnxruntime: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    if (extras.goldenExamples?.length && !request.skipGoldenCheck) {
      const result = await checkGoldenExamples(session, {
        ...signature,
        goldenExamples: extras.goldenExamples,
      });
      if (!result.passed) {
        throw new InvalidModelError(
          `golden examples do not match the model:\n  ${result.failures.join('\n  ')}\nfix the examples, or pass --skip-golden-check to publish anyway`,
        );
      }
    }
  } finally {
    await session.release();
  }
  return registry.publish({ name: request.model, model: bytes, extras, onProgress: request.onProgress });
}

async function readExtras(request: PublishRequest): Promise<PublishExtras> {
  let raw: unknown = {};
  if (request.extrasFile) {
    try {
      raw = JSON.parse(await readFile(request.extrasFile, 'utf8'));
    } catch (error) {
      throw new UsageError(`cannot read the extras file ${request.extrasFile}: ${(error as Error).message}`);
    }
  }
  const parsed = PublishExtrasSchema.safeParse(raw);
  if (!parsed.success) {
    throw new UsageError(
      `${request.extrasFile}: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
    );
  }
  const labels = request.labels
    ?.split(',')
    .map((label) => label.trim())
    .filter(Boolean);
  return {
    ...parsed.data,
    ...(labels?.length ? { labels } : {}),
    ...(request.description ? { description: request.description } : {}),
  };
}
