import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { SFNClient } from '@aws-sdk/client-sfn';
import {
  type BatchExecutionState,
  executionArnOf,
  failedBatches,
  readBatchExecution,
  startBatchExecution,
} from '../aws/stepfunctions/batch-execution.js';
import {
  BatchEventSchema,
  type BatchRunInput,
  batchPartsPrefix,
  batchPrefix,
  isOpen,
  lineOfItem,
  modelOfKey,
  placesOfBatch,
} from '../core/batch/batch-event.js';
import { BATCH_INPUT_NAME, formatOf } from '../core/batch/batch-items.js';
import {
  type BatchResult,
  type BatchSummary,
  parseResultLines,
  summarize,
} from '../core/batch/batch-results.js';
import { SluiceError } from '../core/errors/SluiceError.js';
import type { ObjectStore } from '../storage/ObjectStore.js';
import { RolloutStore } from '../storage/RolloutStore.js';
import { UsageError } from './exit-codes.js';
import { BatchOutput } from './local-batch.js';
import type { RegistryTarget } from './registry-target.js';

// For `sluice batch status`: the command loads this module, and the Step Functions SDK with it, for runs on AWS only.
export { executionArnOf, readBatchExecution };

/**
 * How often `sluice batch` re-reads a run on AWS it follows: each read is three Step Functions requests
 * (DescribeExecution, ListMapRuns, DescribeMapRun), and a map run's counters move by whole batches.
 */
export const AWS_BATCH_FOLLOW_INTERVAL_MS = 5_000;

/** What starting a run on AWS needs. */
export interface StartAwsBatchOptions {
  readonly target: RegistryTarget;
  readonly sfn: SFNClient;
  /** The model's batch state machine (its stack's `BatchStateMachineArn` output). */
  readonly stateMachineArn: string;
  readonly model: string;
  readonly version?: number;
  /** A local JSON lines or CSV file, or `s3://<registry>/batch/<model>/input/...`. */
  readonly input: string;
  readonly runId: string;
  /** Called as the input's bytes reach S3. */
  readonly onUpload?: (loaded: number, total: number) => void;
}

/**
 * Starts a batch run on AWS: checks the model (and version) are in the registry, names the version to score (the
 * one given, else the rollout state's stable version, else the one the invoked function serves), puts a local input file under
 * `batch/<model>/input/<run>/` (the only prefix the state machine may read), and starts the model's state machine
 * with the run. Started again with the same run id and input while it runs, it answers the same execution.
 *
 * @example
 * const { executionArn } = await startAwsBatch({ target, sfn, stateMachineArn, model: 'iris', input: 'rows.jsonl', runId });
 */
export async function startAwsBatch(
  options: StartAwsBatchOptions,
): Promise<{ readonly executionArn: string; readonly run: BatchRunInput }> {
  const { model, target } = options;
  const versions = await target.registry.listVersions(model);
  if (versions.length === 0) throw new UsageError(`no model ${model} in ${target.description}`);
  if (options.version !== undefined && !versions.includes(options.version)) {
    throw new UsageError(
      `${model} has no version ${options.version} in ${target.description} (it has ${versions.join(', ')})`,
    );
  }
  // Without --version, the version the alias serves as stable now: the Lambda version the state machine invokes
  // serves the version of the deploy that published it, which a promotion since has replaced.
  const version =
    options.version ?? (await new RolloutStore({ store: target.objects }).current(model))?.stable;
  const key = await inputKey(options);
  const run: BatchRunInput = {
    runId: options.runId,
    key,
    format: formatOf(key),
    ...(version === undefined ? {} : { version }),
  };
  const executionArn = await startBatchExecution(options.sfn, options.stateMachineArn, run);
  return { executionArn, run };
}

/** The input's key in the registry bucket: an object already under the model's input prefix, or a file put there. */
async function inputKey(options: StartAwsBatchOptions): Promise<string> {
  const { model, target } = options;
  const prefix = `${batchPrefix(model)}input/`;
  const s3 = s3Location(options.input);
  if (s3) {
    const { bucket, key } = s3;
    // The state machine's role reads the model's input prefix of the registry bucket and nothing else.
    if (bucket !== target.bucket || !key.startsWith(prefix)) {
      throw new UsageError(
        `the batch state machine reads s3://${target.bucket}/${prefix}... only; copy the input there (aws s3 cp ${options.input} s3://${target.bucket}/${prefix}) or give a local file`,
      );
    }
    return key;
  }
  const info = await stat(options.input).catch(() => undefined);
  if (!info) throw new SluiceError(`no input at ${options.input}`);
  if (info.isDirectory()) {
    throw new UsageError(
      'on AWS a run reads one object: give one .jsonl or .csv file (a folder is for --local)',
    );
  }
  if (!BATCH_INPUT_NAME.test(options.input)) {
    throw new UsageError(`${options.input}: the input is a JSON lines (.jsonl) or CSV (.csv) file`);
  }
  const key = `${prefix}${options.runId}/${basename(options.input)}`;
  const input = options.input;
  const refuse = () =>
    new UsageError(
      `run ${options.runId} already has another input at s3://${target.bucket}/${key}; give another --run-id`,
    );
  // The same run started again finds its input there: compared before anything is sent, not after a re-upload of
  // what may be many GB.
  const same = await storedInputIs(target.objects, key, input, info.size);
  if (same === false) throw refuse();
  if (same === undefined) {
    // Streamed from the file, never read whole: an input may be many GB (a part at a time above 8 MiB).
    const put = await target.objects.putIfAbsent(
      key,
      { size: info.size, open: () => createReadStream(input) },
      {
        contentType: formatOf(key) === 'csv' ? 'text/csv' : 'application/x-ndjson',
        onProgress: (loaded) => options.onUpload?.(loaded, info.size),
      },
    );
    // Written meanwhile by another command of the same run: it must be this file too.
    if (!put && !(await storedInputIs(target.objects, key, input, info.size))) throw refuse();
  }
  return key;
}

/**
 * Follows a run until its execution ends, reading it every `intervalMs` (`sleep` injected: tests pass their
 * clock) and telling `onProgress` each read.
 *
 * @example
 * const ended = await followAwsBatch(sfn, executionArn, { sleep, onProgress: draw });
 */
export async function followAwsBatch(
  sfn: SFNClient,
  executionArn: string,
  options: {
    readonly sleep: (ms: number) => Promise<void>;
    readonly intervalMs?: number;
    readonly onProgress?: (state: BatchExecutionState) => void;
  },
): Promise<BatchExecutionState> {
  for (;;) {
    const state = await readBatchExecution(sfn, executionArn);
    options.onProgress?.(state);
    if (!isOpen(state.status)) return state;
    await options.sleep(options.intervalMs ?? AWS_BATCH_FOLLOW_INTERVAL_MS);
  }
}

/**
 * Where the results of a run on AWS are written: a local folder, or `s3://<registry>/batch/<model>/output/` (the
 * run's files then go under its `<run>/`, beside its parts: the only output prefix sluice's grants write).
 */
export type BatchDestination =
  | { readonly kind: 'folder'; readonly path: string }
  | { readonly kind: 's3'; readonly prefix: string };

/**
 * Reads `--output` for a run on AWS.
 *
 * @example
 * destinationOf('scored/', target, 'iris'); // { kind: 'folder', path: 'scored/' }
 */
export function destinationOf(output: string, target: RegistryTarget, model: string): BatchDestination {
  const s3 = s3Location(output);
  if (!s3) return { kind: 'folder', path: output };
  const prefix = `${batchPrefix(model)}output/`;
  const { bucket, key } = s3;
  if (bucket !== target.bucket || key.replace(/\/?$/, '/') !== prefix) {
    throw new UsageError(
      `on S3 a run's results are written beside its parts, s3://${target.bucket}/${prefix}<run>/; give that prefix, or a local folder`,
    );
  }
  return { kind: 's3', prefix };
}

/** An `s3://bucket/key` argument's bucket and key (either may be empty), or undefined for a local path. */
function s3Location(argument: string): { readonly bucket: string; readonly key: string } | undefined {
  const found = /^s3:\/\/([^/]*)\/?(.*)$/.exec(argument);
  return found ? { bucket: found[1] ?? '', key: found[2] ?? '' } : undefined;
}

/** Where a run's results file and summary were written: a path, or an `s3://` location. */
export interface BatchFiles {
  readonly results: string;
  readonly summary: string;
}

/**
 * The results of an ended run on AWS, one line per row of its input, each once: the rows' lines from the parts the
 * function wrote; for each batch that failed every attempt (the result writer's FAILED files) a failed line per row
 * naming the batch's error; and for every other row of the input (a batch the map run never ran: it failed past its
 * tolerated failures, timed out or was aborted first, or it never started) a failed line saying so. Written to
 * `destination` as `results.jsonl` (input order) and `summary.json`, whose locations it answers with the summary.
 *
 * @example
 * const { summary, files } = await collectAwsBatch(target.objects, ended, { kind: 'folder', path: 'scored/' });
 */
export async function collectAwsBatch(
  objects: ObjectStore,
  state: BatchExecutionState,
  destination: BatchDestination,
): Promise<{ readonly summary: BatchSummary; readonly files: BatchFiles }> {
  const model = modelOfKey(state.run.key);
  const results = new Map<number, BatchResult>();
  const add = (result: BatchResult) => {
    // A part's line wins: a batch whose part was written has its rows scored.
    if (!results.has(result.line)) results.set(result.line, result);
  };
  for await (const key of objects.list(batchPartsPrefix(model, state.run.runId))) {
    for (const result of parseResultLines(new TextDecoder().decode(await objects.get(key)))) add(result);
  }
  for (const batch of await failedBatches(objects, state)) {
    const event = BatchEventSchema.safeParse(batch.input);
    // Not a batch of sluice's (the input was edited): its rows are listed below as not scored.
    if (!event.success) continue;
    const reason = `the batch failed every attempt: ${batch.error}${causeOf(batch.cause)}`;
    for (const place of placesOfBatch(event.data)) add({ ...place, error: reason });
  }
  const items = state.items?.total ?? (await itemsIn(objects, state.run));
  const why = `not scored: the run ended ${state.status}${state.error ? ` (${state.error})` : ''} before this row's batch ran`;
  for (let index = 0; index < items; index++) {
    add({ source: state.run.key, line: lineOfItem(state.run.format, index), error: why });
  }
  const ordered = [...results.values()].sort((a, b) => a.line - b.line);
  const summary = summarize(model, ordered, {
    batches: state.batches?.total ?? 0,
    resumedBatches: 0,
    startedAt: state.startDate.getTime(),
    finishedAt: (state.stopDate ?? state.startDate).getTime(),
  });
  const lines = ordered.map((result) => JSON.stringify(result)).join('\n');
  const locationOf = async (name: string, text: string): Promise<string> => {
    if (destination.kind === 'folder') {
      await mkdir(destination.path, { recursive: true });
      const path = join(destination.path, name);
      await writeFile(path, text);
      return path;
    }
    const key = `${destination.prefix}${state.run.runId}/${name}`;
    // Replaced, not kept: a redriven run collected again writes what it ends with now.
    await objects.delete(key);
    await objects.putIfAbsent(key, text, {
      contentType: name.endsWith('.jsonl') ? 'application/x-ndjson' : 'application/json',
    });
    return objects.locate(key);
  };
  return {
    summary,
    files: {
      results: await locationOf(BatchOutput.RESULTS, lines === '' ? '' : `${lines}\n`),
      summary: await locationOf(BatchOutput.SUMMARY, `${JSON.stringify(summary, null, 2)}\n`),
    },
  };
}

/**
 * The items of a run's input object, as the map's reader counts them: its non-empty lines, less a CSV's header.
 * For a run whose map never started (no map run to count them).
 */
async function itemsIn(objects: ObjectStore, run: BatchRunInput): Promise<number> {
  const body = await objects.get(run.key);
  if (body === undefined) return 0;
  const lines = new TextDecoder()
    .decode(body)
    .split(/\r?\n/)
    .filter((line) => line !== '').length;
  return run.format === 'csv' ? Math.max(0, lines - 1) : lines;
}

/** The message of a Lambda error's cause (the runtime's `{"errorType", "errorMessage", ...}`), else the cause. */
function causeOf(cause: string): string {
  if (cause === '') return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return `: ${parsed.errorMessage}`;
  } catch {
    // Not JSON: the cause as it is.
  }
  return `: ${cause}`;
}

/** The sha256 of a stream's bytes, read a chunk at a time. */
async function sha256Of(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
}

/**
 * Whether the object at `key` holds the file's bytes (same size and sha256, both read as streams); undefined when
 * there is no object.
 */
async function storedInputIs(
  objects: Pick<ObjectStore, 'getRange'>,
  key: string,
  path: string,
  size: number,
): Promise<boolean | undefined> {
  // One byte at least: a range of none is no valid HTTP range, and an empty object answers as one of nothing.
  const stored = await objects.getRange(key, 0, Math.max(size, 1));
  if (stored === undefined) return undefined;
  if (stored.total !== size) {
    stored.discard();
    return false;
  }
  return (await sha256Of(stored.body)) === (await sha256Of(createReadStream(path)));
}
