import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { SFNClient } from '@aws-sdk/client-sfn';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { BatchExecutionState } from '../aws/stepfunctions/batch-execution.js';
import { BatchRunInputSchema, isOpen, modelOfKey } from '../core/batch/batch-event.js';
import { DEFAULT_BATCH_ROWS, MAX_BATCH_ROWS } from '../core/batch/batch-items.js';
import type { BatchSummary } from '../core/batch/batch-results.js';
import { SluiceError } from '../core/errors/SluiceError.js';
import { runningLocalStack } from '../local/local-home.js';
import type { BatchDestination, BatchFiles } from './aws-batch.js';
import type { CliIo } from './cli-io.js';
import { formatDuration } from './describe-rollout.js';
import { FollowTimeoutError, UsageError } from './exit-codes.js';
import { FollowDeadlineError, followSleep, parseTimeoutOption } from './follow-timeout.js';
import { BatchOutput, DEFAULT_BATCH_CONCURRENCY, inputFiles, runLocalBatch } from './local-batch.js';
import { parseVersionArgument } from './model-argument.js';
import { createProgressReporter } from './progress.js';
import { type RegistryTarget, resolveRegistryTarget } from './registry-target.js';
import { type GlobalOptions, withTargetOptions } from './target-options.js';

/** Options of `sluice batch`. */
interface BatchOptions extends GlobalOptions {
  /** The model, as an option: the way to name a model called `status`, which is the subcommand's name. */
  readonly model?: string;
  readonly input?: string;
  readonly output?: string;
  readonly version?: number;
  readonly batchSize: string;
  readonly concurrency: string;
  readonly tolerateFailures: string;
  readonly stateMachine?: string;
  readonly runId?: string;
  /** False with `--no-wait`. */
  readonly wait: boolean;
  readonly timeout?: string;
}

/** Options of `sluice batch status`. */
interface BatchStatusOptions extends GlobalOptions {
  readonly output?: string;
  readonly stateMachine?: string;
  readonly tolerateFailures: string;
}

/**
 * `sluice batch <model> --input FILE --output DIR|s3://...`: scores every row of a JSON lines or CSV file with the
 * model, in batches (one request, one session.run, per batch). With `--local` against the running local stack (a
 * folder of files too; started again with the same output it resumes, see `runLocalBatch`); otherwise on AWS, an
 * execution of the model's batch state machine, followed to its end (`--no-wait`: its id at once; `sluice batch
 * status ID` reads it). Either way the results are `results.jsonl` and `summary.json`. Exit 1 when the run failed or
 * more rows failed than `--tolerate-failures` percent allows, 3 when `--timeout` stopped the following.
 */
export function registerBatchCommand(program: Command, io: CliIo): void {
  // Positional options: `sluice batch status RUN --output X` gives --output to status, not to batch.
  const batch = withTargetOptions(program.command('batch').enablePositionalOptions(), io)
    .description('score a file of rows with a model in batches: results and a summary (local stack or AWS)')
    .argument('[model]', 'model name')
    .option('--model <name>', 'the model, instead of the argument (a model named `status`: `--model status`)')
    .option(
      '--input <path>',
      'a JSON lines (.jsonl) or CSV (.csv) file (--local: or a folder of them; AWS: or s3://<registry>/batch/<model>/input/...)',
    )
    .option(
      '--output <dir>',
      'folder of the results (results.jsonl, summary.json; --local resumes a run there), or on AWS s3://<registry>/batch/<model>/output/',
    )
    .option(
      '--version <n>',
      'score with this version (default: --local what the alias routes each batch to; AWS the stable version)',
      parseVersionArgument,
    )
    .option('--batch-size <rows>', '--local: rows per request', String(DEFAULT_BATCH_ROWS))
    .option('--concurrency <n>', '--local: requests in flight at once', String(DEFAULT_BATCH_CONCURRENCY))
    .option('--tolerate-failures <percent>', 'exit 0 while at most this share of rows failed', '0')
    .option(
      '--state-machine <arn>',
      "AWS: the model's batch state machine, its stack's BatchStateMachineArn output (default: $SLUICE_BATCH_STATE_MACHINE)",
    )
    .option('--run-id <id>', 'AWS: name the run (the execution); default: <model>-<time>-<random>')
    .option('--no-wait', 'AWS: print the run and return; `sluice batch status ID` reads it')
    .option('--timeout <duration>', 'AWS: stop following after this long, e.g. 30m (exit 3); the run goes on')
    .addHelpText(
      'after',
      '\nExit codes: 0 scored (failed rows within --tolerate-failures), 1 failed, 2 usage, 3 --timeout reached.\n' +
        '\nExamples:\n  npx sluice batch iris --input rows.jsonl --output scored/ --local\n' +
        '  npx sluice batch iris --input rows.jsonl --output scored/ --state-machine arn:aws:states:...:stateMachine:...\n' +
        '  npx sluice batch status iris-20261203T101500Z-3fa2 --state-machine arn:... --output scored/',
    )
    .action(async (modelArgument: string | undefined, options: BatchOptions) => {
      const model = modelOf(modelArgument, options.model);
      const input = required('--input', options.input);
      const output = required('--output', options.output);
      const tolerated = toleratedPercent(options.tolerateFailures);
      if (options.local) {
        await runLocal(io, model, { ...options, input, output }, tolerated);
        return;
      }
      const timeoutMs = parseTimeoutOption(options.timeout);
      const stateMachineArn = stateMachineOf(io, options);
      const runId = options.runId ?? defaultRunId(model, (io.now ?? Date.now)());
      if (!BatchRunInputSchema.shape.runId.safeParse(runId).success) {
        throw new UsageError(`--run-id must be 1 to 80 letters, digits, - and _; got "${runId}"`);
      }
      const { target, sfn } = await awsBatchContext(io, options);
      const aws = await awsBatch();
      const destination = aws.destinationOf(output, target, model);
      const upload = createProgressReporter(io, !options.json);
      const started = await aws
        .startAwsBatch({
          target,
          sfn,
          stateMachineArn,
          model,
          ...(options.version === undefined ? {} : { version: options.version }),
          input,
          runId,
          onUpload: upload.update,
        })
        .finally(upload.stop);
      const status = `sluice batch status ${runId} --state-machine ${stateMachineArn} --output ${output}`;
      if (!options.wait) {
        io.stdout(
          options.json
            ? `${JSON.stringify({ runId, executionArn: started.executionArn, input: started.run.key })}\n`
            : `started ${runId}: ${started.executionArn}\n  read it with \`${status}\`\n`,
        );
        return;
      }
      if (!options.json) io.stderr(`started ${runId} (${started.executionArn}), following\n`);
      let ended: BatchExecutionState;
      const progress = progressOf(io, options.json === true);
      try {
        ended = await aws.followAwsBatch(sfn, started.executionArn, {
          sleep: followSleep(io, timeoutMs),
          onProgress: progress.update,
        });
      } catch (error) {
        if (!(error instanceof FollowDeadlineError)) throw error;
        throw new FollowTimeoutError(
          `stopped following after ${formatDuration(error.timeoutMs)} (--timeout): run ${runId} goes on; collect it when it has ended with \`${status}\``,
        );
      } finally {
        progress.stop();
      }
      await finish(io, ended, target, destination, tolerated, options.json === true);
    });

  withTargetOptions(batch.command('status'), io)
    .description('read a batch run on AWS; once it has ended, --output writes its results')
    .argument('<run>', 'the run id (with --state-machine) or its execution ARN')
    .option(
      '--output <dir>',
      'write the results of an ended run here (a folder, or s3://<registry>/batch/<model>/output/)',
    )
    .option(
      '--state-machine <arn>',
      "the model's batch state machine (default: $SLUICE_BATCH_STATE_MACHINE); not needed with an execution ARN",
    )
    .option('--tolerate-failures <percent>', 'exit 0 while at most this share of rows failed', '0')
    .action(async (run: string, options: BatchStatusOptions) => {
      if (options.local)
        throw new UsageError('sluice batch status reads runs on AWS; --local runs end as they run');
      const tolerated = toleratedPercent(options.tolerateFailures);
      const aws = await awsBatch();
      const executionArn = run.startsWith('arn:')
        ? run
        : aws.executionArnOf(stateMachineOf(io, options), run);
      const { target, sfn } = await awsBatchContext(io, options);
      const state = await aws.readBatchExecution(sfn, executionArn);
      const model = modelOfKey(state.run.key);
      if (isOpen(state.status) || options.output === undefined) {
        // Its state only: the counts of failed rows are known once the results are collected (--output).
        io.stdout(options.json ? `${JSON.stringify(state)}\n` : `${describeState(state)}\n`);
        if (!isOpen(state.status) && state.status !== 'SUCCEEDED') throw new SluiceError(failureOf(state));
        return;
      }
      const destination = aws.destinationOf(options.output, target, model);
      await finish(io, state, target, destination, tolerated, options.json === true);
    });
}

/** The AWS side of the command, and the Step Functions SDK with it (about 150 ms to load): only for runs on AWS. */
function awsBatch() {
  return import('./aws-batch.js');
}

/** `--local`: the run against the local stack. */
async function runLocal(
  io: CliIo,
  model: string,
  options: BatchOptions & { readonly input: string; readonly output: string },
  tolerated: number,
): Promise<void> {
  if (!options.wait) throw new UsageError('--no-wait is for runs on AWS: a --local run ends as it runs');
  for (const option of ['stateMachine', 'runId', 'timeout'] as const) {
    if (options[option] !== undefined) {
      throw new UsageError(
        `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is for runs on AWS, not --local`,
      );
    }
  }
  const batchSize = wholeNumber('--batch-size', options.batchSize, 1, MAX_BATCH_ROWS);
  const concurrency = wholeNumber('--concurrency', options.concurrency, 1, 64);
  const { apiUrl } = await runningLocalStack(io.env);
  const inputs = await inputFiles(options.input);
  let shown = -1;
  const summary = await runLocalBatch({
    apiUrl,
    model,
    ...(options.version === undefined ? {} : { version: options.version }),
    inputs,
    output: options.output,
    batchSize,
    concurrency,
    ...(io.sleep ? { sleep: io.sleep } : {}),
    ...(io.now ? { now: io.now } : {}),
    onProgress: (progress) => {
      // A line per tenth of the batches: a log, not a flood.
      const tenth = Math.floor((10 * progress.batchesDone) / progress.batches);
      if (options.json || tenth === shown) return;
      shown = tenth;
      io.stderr(
        `batch ${progress.batchesDone} of ${progress.batches}: ${progress.rowsDone} of ${progress.rows} rows, ${progress.failed} failed\n`,
      );
    },
  });
  const files = {
    results: join(options.output, BatchOutput.RESULTS),
    summary: join(options.output, BatchOutput.SUMMARY),
  };
  report(io, summary, files, tolerated, options.json === true);
}

/** The registry and the Step Functions client of a run on AWS (a client for the registry's region). */
async function awsBatchContext(
  io: CliIo,
  options: GlobalOptions,
): Promise<{ target: RegistryTarget; sfn: SFNClient }> {
  const target = await resolveRegistryTarget(options, io.env);
  const sfn =
    io.stepFunctions ??
    new (await import('@aws-sdk/client-sfn')).SFNClient(
      (await import('../aws/control-plane-clients.js')).controlPlaneClientConfig(target.region),
    );
  return { target, sfn };
}

function stateMachineOf(io: CliIo, options: { readonly stateMachine?: string }): string {
  const arn = options.stateMachine ?? io.env.SLUICE_BATCH_STATE_MACHINE;
  if (!arn) {
    throw new UsageError(
      "on AWS, pass --state-machine ARN (or set SLUICE_BATCH_STATE_MACHINE): the model's batch state machine, its stack's BatchStateMachineArn output (a model's `batch` setting in sluice.config.json adds it); or use --local for the local stack",
    );
  }
  return arn;
}

/** A run id nobody else picks by chance: the model, the time to the second, four random hex digits. */
function defaultRunId(model: string, now: number): string {
  const time = new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${model.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 50)}-${time}-${randomBytes(2).toString('hex')}`;
}

/**
 * Draws the run's progress: a bar on a terminal, else a line per tenth of the rows (nothing with --json). The
 * failed rows it counts are those of failed batches (the map run's counters); rows a batch's part lists as refused
 * are counted once the results are collected.
 */
function progressOf(
  io: CliIo,
  json: boolean,
): { readonly update: (state: BatchExecutionState) => void; readonly stop: () => void } {
  let bar: cliProgress.SingleBar | undefined;
  let shown = -1;
  const update = (state: BatchExecutionState) => {
    if (json) return;
    const items = state.items;
    if (!items || items.total === 0) return;
    const done = items.succeeded + items.failed;
    const seconds = Math.max(1, ((io.now ?? Date.now)() - state.startDate.getTime()) / 1000);
    const rate = done / seconds;
    const payload = { failed: items.failed, rate: rate.toFixed(1) };
    if (io.interactive) {
      if (!bar) {
        bar = new cliProgress.SingleBar(
          {
            format:
              'scoring [{bar}] {percentage}% {value}/{total} rows, {failed} in failed batches, {rate} rows/s, ETA {eta_formatted}',
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(items.total, 0, payload);
      }
      bar.update(done, payload);
      return;
    }
    const tenth = Math.floor((10 * done) / items.total);
    if (tenth === shown) return;
    shown = tenth;
    const eta = rate > 0 ? ` ETA ${formatDuration(Math.round(((items.total - done) / rate) * 1000))}` : '';
    io.stderr(
      `${done} of ${items.total} rows, ${items.failed} in failed batches, ${payload.rate} rows/s${done < items.total ? eta : ''}\n`,
    );
  };
  return { update, stop: () => bar?.stop() };
}

/** A run's state in a line. */
function describeState(state: BatchExecutionState): string {
  const items = state.items;
  const counts = items
    ? `${items.succeeded + items.failed} of ${items.total} rows done, ${items.failed} failed (${state.batches?.total ?? 0} batches)`
    : 'reading its input';
  return `${state.run.runId} (${modelOfKey(state.run.key)}, ${state.run.key}): ${state.status}, ${counts}${state.error ? `; ${failureOf(state)}` : ''}`;
}

function failureOf(state: BatchExecutionState): string {
  return `run ${state.run.runId} ${state.status}${state.error ? `: ${state.error}` : ''}${state.cause ? ` (${state.cause})` : ''}`;
}

/** An ended run: its results collected and written, the summary printed, the exit decided. */
async function finish(
  io: CliIo,
  state: BatchExecutionState,
  target: RegistryTarget,
  destination: BatchDestination,
  tolerated: number,
  json: boolean,
): Promise<void> {
  const { summary, files } = await (await awsBatch()).collectAwsBatch(target.objects, state, destination);
  if (state.status !== 'SUCCEEDED') {
    io.stdout(json ? `${JSON.stringify(summary)}\n` : describeSummary(summary, files));
    throw new SluiceError(
      `${failureOf(state)}; the rows it scored and the ones it did not are in ${files.results}`,
    );
  }
  report(io, summary, files, tolerated, json);
}

/** Prints a summary and fails when more rows failed than tolerated. */
function report(io: CliIo, summary: BatchSummary, files: BatchFiles, tolerated: number, json: boolean): void {
  io.stdout(json ? `${JSON.stringify(summary)}\n` : describeSummary(summary, files));
  const failedPercent = summary.rows === 0 ? 0 : (100 * summary.failed) / summary.rows;
  if (failedPercent > tolerated) {
    throw new SluiceError(
      `${summary.failed} of ${summary.rows} rows failed (${failedPercent.toFixed(2)}%), more than --tolerate-failures ${tolerated}%; see ${files.results}`,
    );
  }
}

function required(option: string, value: string | undefined): string {
  if (value === undefined) throw new UsageError(`sluice batch needs ${option}`);
  return value;
}

function toleratedPercent(text: string): number {
  const tolerated = Number(text);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || tolerated > 100) {
    throw new UsageError(`--tolerate-failures must be a percentage from 0 to 100; got "${text}"`);
  }
  return tolerated;
}

function wholeNumber(option: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || value < min || value > max) {
    throw new UsageError(`${option} must be a whole number from ${min} to ${max}; got "${text}"`);
  }
  return value;
}

function describeSummary(summary: BatchSummary, files: BatchFiles): string {
  const versions = Object.entries(summary.versions)
    .map(([version, rows]) => `v${version}: ${rows}`)
    .join(', ');
  const lines = [
    `${summary.model}: ${summary.succeeded} of ${summary.rows} rows scored (${versions || 'none'}), ${summary.failed} failed, in ${summary.batches} batches${summary.resumedBatches > 0 ? ` (${summary.resumedBatches} done by an earlier run)` : ''}, ${(summary.durationMs / 1000).toFixed(1)} s`,
    ...summary.failures
      .slice(0, 5)
      .map(
        (failure) =>
          `  ${failure.source}:${failure.line}${failure.id ? ` (${failure.id})` : ''}: ${failure.error}`,
      ),
    `results: ${files.results}, summary: ${files.summary}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** The model `sluice batch` scores: its argument or `--model`, one of the two. */
function modelOf(argument: string | undefined, option: string | undefined): string {
  if (argument !== undefined && option !== undefined && argument !== option) {
    throw new UsageError(`two models given: "${argument}" and --model "${option}"; give one`);
  }
  const model = argument ?? option;
  if (model === undefined) throw new UsageError('name the model: `sluice batch MODEL` or `--model MODEL`');
  return model;
}
