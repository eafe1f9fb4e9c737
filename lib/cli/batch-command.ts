import { join } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_BATCH_ROWS, MAX_BATCH_ROWS } from '../core/batch/batch-items.js';
import type { BatchSummary } from '../core/batch/batch-results.js';
import { SluiceError } from '../core/errors/SluiceError.js';
import { runningLocalStack } from '../local/local-home.js';
import type { CliIo } from './cli-io.js';
import { UsageError } from './exit-codes.js';
import { BatchOutput, DEFAULT_BATCH_CONCURRENCY, inputFiles, runLocalBatch } from './local-batch.js';
import { parseVersionArgument } from './model-argument.js';
import { type GlobalOptions, withTargetOptions } from './target-options.js';

/** Options of `sluice batch`. */
interface BatchOptions extends GlobalOptions {
  readonly input: string;
  readonly output: string;
  readonly version?: number;
  readonly batchSize: string;
  readonly concurrency: string;
  readonly tolerateFailures: string;
}

/**
 * `sluice batch <model> --input FILE|DIR --output DIR --local`: scores every row of JSON lines or CSV files with the
 * model, in batches (one request, one session.run, per batch), into `DIR/results.jsonl` and `DIR/summary.json`;
 * started again with the same output it resumes (see `runLocalBatch`). Exit 1 when more rows failed than
 * `--tolerate-failures` percent allows.
 */
export function registerBatchCommand(program: Command, io: CliIo): void {
  withTargetOptions(program.command('batch'), io)
    .description('score files of rows with a model in batches, results and a summary in a folder (resumable)')
    .argument('<model>', 'model name')
    .requiredOption('--input <path>', 'a JSON lines (.jsonl) or CSV (.csv) file, or a folder of them')
    .requiredOption(
      '--output <dir>',
      'folder of the results (results.jsonl, summary.json, parts/); resumes a run there',
    )
    .option(
      '--version <n>',
      'score with this version (default: what the alias routes each batch to)',
      parseVersionArgument,
    )
    .option('--batch-size <rows>', 'rows per request', String(DEFAULT_BATCH_ROWS))
    .option('--concurrency <n>', 'requests in flight at once', String(DEFAULT_BATCH_CONCURRENCY))
    .option('--tolerate-failures <percent>', 'exit 0 while at most this share of rows failed', '0')
    .addHelpText('after', '\nExample:\n  npx sluice batch iris --input rows.jsonl --output scored/ --local')
    .action(async (model: string, options: BatchOptions) => {
      if (!options.local) {
        throw new UsageError(
          "sluice batch runs against the local stack (--local) for now; on AWS start the model's batch state machine (its BatchStateMachineArn output) with aws stepfunctions start-execution",
        );
      }
      const batchSize = wholeNumber('--batch-size', options.batchSize, 1, MAX_BATCH_ROWS);
      const concurrency = wholeNumber('--concurrency', options.concurrency, 1, 64);
      const tolerated = Number(options.tolerateFailures);
      if (!/^[0-9]+(\.[0-9]+)?$/.test(options.tolerateFailures) || tolerated > 100) {
        throw new UsageError(
          `--tolerate-failures must be a percentage from 0 to 100; got "${options.tolerateFailures}"`,
        );
      }
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
      io.stdout(options.json ? `${JSON.stringify(summary)}\n` : describeSummary(summary, options.output));
      const failedPercent = summary.rows === 0 ? 0 : (100 * summary.failed) / summary.rows;
      if (failedPercent > tolerated) {
        throw new SluiceError(
          `${summary.failed} of ${summary.rows} rows failed (${failedPercent.toFixed(2)}%), more than --tolerate-failures ${tolerated}%; see ${join(options.output, BatchOutput.RESULTS)}`,
        );
      }
    });
}

function wholeNumber(option: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || value < min || value > max) {
    throw new UsageError(`${option} must be a whole number from ${min} to ${max}; got "${text}"`);
  }
  return value;
}

function describeSummary(summary: BatchSummary, output: string): string {
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
    `results: ${join(output, BatchOutput.RESULTS)}, summary: ${join(output, BatchOutput.SUMMARY)}`,
  ];
  return `${lines.join('\n')}\n`;
}
