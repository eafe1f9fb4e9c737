import { readFile } from 'node:fs/promises';
import { requestSizeProblems } from '../core/contract/request-size.js';
import { describeIssues } from '../core/errors/describe-issues.js';
import { InvalidModelError } from '../core/errors/model-errors.js';
import { labelProblems } from '../core/manifest/label-problems.js';
import {
  type PublishExtras,
  PublishExtrasSchema,
  type ReferenceItem,
} from '../core/manifest/ModelManifest.js';
import type { ModelSignature } from '../core/manifest/ModelSignature.js';
import { checkGoldenExamples } from '../serving/check-golden-examples.js';
import { preloadOnnxRuntime } from '../serving/onnx-runtime.js';
import { lambdaSessionOptions } from '../serving/session-options.js';
import type { ModelRegistry, PublishOutcome } from '../storage/ModelRegistry.js';
import { PublishInputError } from './PublishInputError.js';
import { readModelSignature } from './read-model-signature.js';
import { answerReferenceSet, type ReferenceAnswers, readReferenceFile } from './reference-set.js';

/** Longest `--description`, in characters: what the manifest schema takes. */
export const MAX_DESCRIPTION_CHARS = 4096;

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
  /** A JSON lines file of reference inputs (see `readReferenceFile`), stored beside the version for replays. */
  readonly referenceFile?: string;
  readonly onProgress?: (loaded: number, total: number) => void;
  /** Aborts the upload (and its multipart parts) when it fires, e.g. on Ctrl-C. */
  readonly signal?: AbortSignal;
  /** Told of each problem a user should know before calling the model (requests that cannot fit). @default writes `warning: ...` to stderr */
  readonly onWarning?: (message: string) => void;
}

/**
 * Checks a model file the way the function will load it, then publishes it as the next version, unless the newest
 * version already is this publish (same bytes, extras and reference set: a retry after a lost answer), which is
 * then returned with `alreadyPublished` and nothing written (see `ModelRegistry.publishOnce`).
 *
 * The file must open in onnxruntime and its golden examples must pass here, so a broken model is
 * refused before any byte reaches the registry. Labels must fit the model's outputs, and every key of the
 * extras file must be known: a usage error (exit 2) names `--labels`, `--description` or the extras file.
 * A model whose fixed input shapes cannot fit one request is published, with a warning naming the limit and the
 * way round it.
 */
export async function publishModel(
  registry: ModelRegistry,
  request: PublishRequest,
): Promise<PublishOutcome> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(request.file);
  } catch (error) {
    throw new PublishInputError(`cannot read ${request.file}: ${(error as Error).message}`);
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
  checkLabels(request, extras, signature);
  const reference = request.referenceFile
    ? await readReferenceFile(request.referenceFile, signature)
    : undefined;
  const warn = request.onWarning ?? ((message: string) => process.stderr.write(`warning: ${message}\n`));
  for (const problem of requestSizeProblems(signature.inputs)) warn(`model "${request.model}": ${problem}`);
  // Loaded here rather than at the top: `sluice models` and friends never need the native runtime.
  const { InferenceSession } = await preloadOnnxRuntime();
  let session: Awaited<ReturnType<typeof InferenceSession.create>>;
  try {
    // The function's own options, its log severity included: onnxruntime's warnings (coloured lines naming its
    // C++ sources) are not for the person publishing.
    session = await InferenceSession.create(bytes, lambdaSessionOptions());
  } catch (error) {
    throw new InvalidModelError(`${request.file} does not load in onnxruntime: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let referenceSet: ({ items: ReferenceItem[] } & ReferenceAnswers) | undefined;
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
    if (reference) {
      // By class index, as serving counts the classes of live answers (the drift baselines).
      referenceSet = {
        items: reference,
        ...(await answerReferenceSet(session, signature, reference, undefined)),
      };
    }
  } finally {
    await session.release();
  }
  return registry.publishOnce({
    name: request.model,
    bytes,
    signature,
    extras,
    ...(referenceSet ? { reference: referenceSet } : {}),
    onProgress: request.onProgress,
    signal: request.signal,
  });
}

async function readExtras(request: PublishRequest): Promise<PublishExtras> {
  let fromFile: PublishExtras = {};
  if (request.extrasFile) {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(request.extrasFile, 'utf8'));
    } catch (error) {
      throw new PublishInputError(
        `cannot read the extras file ${request.extrasFile}: ${(error as Error).message}`,
      );
    }
    const parsed = PublishExtrasSchema.safeParse(raw);
    if (!parsed.success) {
      throw new PublishInputError(
        `the extras file ${request.extrasFile} is not valid: ${describeIssues(parsed.error)} (it takes labels, description and goldenExamples)`,
      );
    }
    fromFile = parsed.data;
  }
  const labels = request.labels
    ?.split(',')
    .map((label) => label.trim())
    .filter(Boolean);
  if (request.labels !== undefined && !labels?.length) {
    throw new PublishInputError(
      `--labels must be a comma-separated list of class names; got "${request.labels}"`,
    );
  }
  if (request.description !== undefined && request.description.length > MAX_DESCRIPTION_CHARS) {
    throw new PublishInputError(
      `--description is ${request.description.length} characters long; a description may have at most ${MAX_DESCRIPTION_CHARS}`,
    );
  }
  return {
    ...fromFile,
    ...(labels?.length ? { labels } : {}),
    ...(request.description ? { description: request.description } : {}),
  };
}

/** Refuses labels that do not fit the model's outputs, naming where they came from. */
function checkLabels(request: PublishRequest, extras: PublishExtras, signature: ModelSignature): void {
  if (!extras.labels) return;
  const problems = labelProblems(extras.labels, signature.outputs);
  if (problems.length === 0) return;
  const source = request.labels === undefined ? `the labels of ${request.extrasFile}` : '--labels';
  throw new PublishInputError(`${source} do not fit ${request.file}: ${problems.join('; ')}`);
}
