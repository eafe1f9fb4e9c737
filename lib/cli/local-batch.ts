import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { z } from 'zod';
import {
  BATCH_INPUT_NAME,
  BatchInputFormat,
  type BatchItem,
  batchesOf,
  formatOf,
  parseCsv,
  parseJsonLines,
} from '../core/batch/batch-items.js';
import {
  type BatchResult,
  type BatchRun,
  BatchRunSchema,
  type BatchSummary,
  errorsPartName,
  parseResultLines,
  partName,
  summarize,
} from '../core/batch/batch-results.js';
import { ErrorBodySchema, ModelMetadataResponseSchema } from '../core/contract/response-schemas.js';
import { SluiceError } from '../core/errors/SluiceError.js';
import { HomeLock } from '../local/HomeLock.js';
import { type BatchTransport, scoreBatch } from '../serving/score-batch.js';

/** Batch requests in flight at once when the run does not say. */
export const DEFAULT_BATCH_CONCURRENCY = 4;

/** The files of a run's output folder. */
export const BatchOutput = {
  /** What the run was asked (a resumed run must ask the same). */
  RUN: 'run.json',
  /** One file per finished batch, written whole (a temporary name, then renamed). */
  PARTS: 'parts',
  /** Every result line, in input order, once the run has ended. */
  RESULTS: 'results.jsonl',
  /** Counts, versions and the first failures. */
  SUMMARY: 'summary.json',
  /** Held while a run writes the folder. */
  LOCK: 'batch.lock',
} as const;

/** The output folder holds another run's parts, or another run is writing it: going on would mix two runs. */
export class BatchRunMismatchError extends SluiceError {}

/** Progress of a run, after each batch. */
export interface BatchProgress {
  readonly batchesDone: number;
  readonly batches: number;
  readonly rowsDone: number;
  readonly rows: number;
  readonly failed: number;
}

/** Options of {@link runLocalBatch}. */
export interface LocalBatchOptions {
  /** The local stack's API URL. */
  readonly apiUrl: string;
  readonly model: string;
  /** Score with this version; absent: the version the alias routes each batch to. */
  readonly version?: number;
  /** The input files (JSON lines or CSV), in order. */
  readonly inputs: readonly string[];
  /** The output folder. */
  readonly output: string;
  readonly batchSize: number;
  /** @default DEFAULT_BATCH_CONCURRENCY */
  readonly concurrency?: number;
  /** @default BATCH_ATTEMPTS (score-batch.ts) */
  readonly attempts?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Waits between attempts. @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Date.now */
  readonly now?: () => number;
  readonly onProgress?: (progress: BatchProgress) => void;
}

/**
 * A batch run against the running local stack, the same contract as on AWS: the input files' rows (JSON lines or
 * CSV, `parseJsonLines`/`parseCsv`) in batches of `batchSize`, each batch one simple-form request (one session.run
 * for all its rows), `concurrency` of them at once. A batch refused as too large is split in halves; a batch refused
 * for its input is sent again row by row, so a bad row is named and the others are scored; a 5xx or a dropped
 * connection is tried `attempts` times. Every row gets a result line, a prediction or an error, never dropped.
 *
 * Each finished batch is written whole to its part file (named by its file and place: `partName`), so a run killed
 * halfway and started again with the same output folder sends only the batches with no part: no row is scored twice
 * in the results. At the end the parts are joined into `results.jsonl` in input order (file, then line), and
 * `summary.json` written.
 *
 * @example
 * const summary = await runLocalBatch({ apiUrl, model: 'iris', inputs: ['rows.jsonl'], output: 'out', batchSize: 256 });
 */
export async function runLocalBatch(options: LocalBatchOptions): Promise<BatchSummary> {
  await mkdir(join(options.output, BatchOutput.PARTS), { recursive: true });
  // One run per output folder at a time: two would score the same batches and remove each other's temporary files.
  const lock = await HomeLock.acquire(options.output, {
    file: BatchOutput.LOCK,
    inUse: (owner) =>
      new BatchRunMismatchError(
        `another sluice batch (pid ${owner.pid}, started ${owner.startedAt}) is writing ${options.output}; wait for it, or give another --output`,
      ),
  });
  try {
    return await runHeld(options);
  } finally {
    await lock.release();
  }
}

/** The run itself, its output folder held. */
async function runHeld(options: LocalBatchOptions): Promise<BatchSummary> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const send = options.fetch ?? globalThis.fetch;
  // The model's routes, or the version's when the run names one.
  const version = options.version === undefined ? '' : `/versions/${options.version}`;
  const model = encodeURIComponent(options.model);
  const apiUrl = options.apiUrl.replace(/\/+$/, '');
  const metadata = await getJson(send, `${apiUrl}/v2/models/${model}${version}`, ModelMetadataResponseSchema);
  const inputNames = metadata.inputs.map((input) => input.name);
  const run: BatchRun = {
    model: options.model,
    ...(options.version === undefined ? {} : { version: options.version }),
    batchSize: options.batchSize,
    inputs: options.inputs.map((input) => basename(input)),
  };
  const parts = join(options.output, BatchOutput.PARTS);
  await claimRun(options.output, run);
  await removeLeftovers(parts);

  const files = await Promise.all(
    options.inputs.map(async (input) => {
      const text = await readFile(input, 'utf8');
      const source = basename(input);
      return formatOf(input) === BatchInputFormat.CSV
        ? parseCsv(text, source, inputNames)
        : parseJsonLines(text, source, inputNames);
    }),
  );
  const work: { readonly part: string; readonly items: BatchItem[] }[] = [];
  const ordered: string[] = [];
  for (const [inputIndex, file] of files.entries()) {
    // The lines that are no rows are a part of their own, the same on every run (each is a result line as it is).
    const errorsPart = errorsPartName(inputIndex);
    await writeWhole(
      join(parts, errorsPart),
      file.errors.map((error) => JSON.stringify(error satisfies BatchResult)),
    );
    ordered.push(errorsPart);
    for (const [batchIndex, items] of batchesOf(file.items, options.batchSize).entries()) {
      const part = partName(inputIndex, batchIndex);
      ordered.push(part);
      work.push({ part, items });
    }
  }
  const done = new Set((await readdir(parts)).filter((name) => name.endsWith('.jsonl')));
  const pending = work.filter((batch) => !done.has(batch.part));
  const rows = work.reduce((total, batch) => total + batch.items.length, 0);
  let batchesDone = work.length - pending.length;
  let rowsDone = work
    .filter((batch) => done.has(batch.part))
    .reduce((total, batch) => total + batch.items.length, 0);
  let failed = 0;
  const transport = httpTransport(send, `${apiUrl}/models/${model}${version}/predict`);
  const score = (items: readonly BatchItem[]) =>
    scoreBatch(items, {
      transport,
      inputNames,
      model: options.model,
      ...(options.attempts === undefined ? {} : { attempts: options.attempts }),
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    });
  let next = 0;
  const worker = async () => {
    while (next < pending.length) {
      const batch = pending[next++] as (typeof pending)[number];
      const results = await score(batch.items);
      await writeWhole(
        join(parts, batch.part),
        results.map((result) => JSON.stringify(result)),
      );
      batchesDone++;
      rowsDone += batch.items.length;
      failed += results.filter((result) => 'error' in result).length;
      options.onProgress?.({ batchesDone, batches: work.length, rowsDone, rows, failed });
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, options.concurrency ?? DEFAULT_BATCH_CONCURRENCY) }, worker),
  );

  const results: BatchResult[] = [];
  for (const part of ordered) results.push(...parseResultLines(await readFile(join(parts, part), 'utf8')));
  // In input order: each file's lines as they came, its refused lines among them.
  const order = new Map(run.inputs.map((input, index) => [input, index]));
  results.sort((a, b) => (order.get(a.source) ?? 0) - (order.get(b.source) ?? 0) || a.line - b.line);
  await writeWhole(
    join(options.output, BatchOutput.RESULTS),
    results.map((result) => JSON.stringify(result)),
  );
  const summary = summarize(options.model, results, {
    batches: work.length,
    resumedBatches: work.length - pending.length,
    startedAt,
    finishedAt: now(),
  });
  await writeFile(join(options.output, BatchOutput.SUMMARY), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

/** Writes what this run asks, or checks it against what the folder's earlier run asked. */
async function claimRun(output: string, run: BatchRun): Promise<void> {
  const path = join(output, BatchOutput.RUN);
  const exists = await stat(path).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await writeFile(path, `${JSON.stringify(run, null, 2)}\n`);
    return;
  }
  const earlier = BatchRunSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
  if (!earlier.success || JSON.stringify(earlier.data) !== JSON.stringify(run)) {
    throw new BatchRunMismatchError(
      `${output} holds another run (${path}: ${earlier.success ? JSON.stringify(earlier.data) : 'unreadable'}); ` +
        'resume it with the same model, version, batch size and inputs, or give another --output',
    );
  }
}

/** Writes lines whole: to a temporary name, then renamed, so a killed run leaves no half part. */
async function writeWhole(path: string, lines: readonly string[]): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, lines.length === 0 ? '' : `${lines.join('\n')}\n`);
  await rename(temporary, path);
}

/** A batch's requests to the local stack over HTTP. */
function httpTransport(send: typeof fetch, url: string): BatchTransport {
  return async (body) => {
    try {
      const response = await send(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { kind: 'answered', status: response.status, json };
    } catch (error) {
      return { kind: 'unreachable', error: `the local stack is not reachable: ${(error as Error).message}` };
    }
  };
}

async function getJson<T>(send: typeof fetch, url: string, schema: z.ZodType<T>): Promise<T> {
  let response: Response;
  try {
    response = await send(url);
  } catch (error) {
    throw new SluiceError(
      `cannot reach the local stack at ${url} (${(error as Error).message}); is \`npm start\` running?`,
    );
  }
  const json: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    throw new SluiceError(
      ErrorBodySchema.safeParse(json).data?.error ?? `${url} answered ${response.status}`,
    );
  }
  return schema.parse(json);
}

/** The input files of `--input`: a file, or the JSON lines and CSV files of a folder, by name. */
export async function inputFiles(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new SluiceError(`no input at ${path}`);
  if (!info.isDirectory()) return [path];
  const names = (await readdir(path)).filter((name) => BATCH_INPUT_NAME.test(name)).sort();
  if (names.length === 0) throw new SluiceError(`${path} holds no .jsonl or .csv file`);
  return names.map((name) => join(path, name));
}

/** Removes the temporary files a killed run left in the parts folder. */
async function removeLeftovers(parts: string): Promise<void> {
  const names = await readdir(parts).catch(() => [] as string[]);
  await Promise.all(
    names.filter((name) => name.endsWith('.tmp')).map((name) => rm(join(parts, name), { force: true })),
  );
}
