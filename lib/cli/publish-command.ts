import type { Command } from 'commander';
import type { ModelManifest } from '../core/manifest/ModelManifest.js';
import { publishModel } from '../publish/publish-model.js';
import type { ModelRegistry, PublishOutcome } from '../storage/ModelRegistry.js';
import type { CliIo } from './cli-io.js';
import { parseModelArgument } from './model-argument.js';
import { createProgressReporter } from './progress.js';
import { resolveRegistryTarget } from './registry-target.js';
import { type GlobalOptions, withTargetOptions } from './target-options.js';

/** Signals that stop a publish: its multipart upload is aborted (parts deleted) before the process ends. */
const INTERRUPT_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** Options of `sluice publish`. */
interface PublishCommandOptions extends GlobalOptions {
  readonly model: string;
  readonly extras?: string;
  readonly labels?: string;
  readonly description?: string;
  readonly skipGoldenCheck?: boolean;
  readonly reference?: string;
}

/**
 * `sluice publish <file> --model NAME`: checks the file in onnxruntime (golden examples included) and publishes it
 * as the model's next version; when the newest version already is this publish (same bytes and extras, e.g. a retry
 * after a lost answer) it returns that version and says so (`alreadyPublished`). Says which other versions have
 * the very same bytes, if any (`sameBytesAs`).
 */
export function registerPublishCommand(program: Command, io: CliIo): void {
  withTargetOptions(program.command('publish'), io)
    .description('publish an ONNX file as the next version of a model')
    .argument('<file>', 'the .onnx file (self-contained: ONNX external data files are not supported)')
    .requiredOption('-m, --model <name>', 'model name (a-z, 0-9, "-", "_")', parseModelArgument)
    .option('--extras <file>', 'JSON file with labels, goldenExamples and description')
    .option('--labels <list>', 'comma-separated class labels, in output index order')
    .option('--description <text>', 'one line describing this version')
    .option('--skip-golden-check', 'publish even if the golden examples do not match here')
    .option(
      '--reference <file>',
      'JSON lines of reference inputs (optionally with "expected" classes): replayed through candidate and stable before any traffic',
    )
    .addHelpText(
      'after',
      '\nPublishing again what the newest version already is (same bytes, labels, description, golden examples and\n' +
        'reference set), e.g. a retry after the answer was lost, writes nothing and answers that version\n' +
        '("already published"; "alreadyPublished": true with --json).\n' +
        '\nExample:\n  npx sluice publish model.onnx --model iris --extras iris.json --local',
    )
    .action(async (file: string, options: PublishCommandOptions) => {
      const target = await resolveRegistryTarget(options, io.env);
      const progress = createProgressReporter(io, !options.json);
      const interrupted = new AbortController();
      const interrupt = (): void => interrupted.abort(new Error('interrupted'));
      for (const signal of INTERRUPT_SIGNALS) process.once(signal, interrupt);
      let outcome: PublishOutcome;
      try {
        outcome = await publishModel(target.registry, {
          file,
          model: options.model,
          extrasFile: options.extras,
          labels: options.labels,
          description: options.description,
          skipGoldenCheck: options.skipGoldenCheck,
          ...(options.reference ? { referenceFile: options.reference } : {}),
          onProgress: progress.update,
          signal: interrupted.signal,
        });
      } finally {
        progress.stop();
        for (const signal of INTERRUPT_SIGNALS) process.off(signal, interrupt);
      }
      const { manifest, alreadyPublished } = outcome;
      const sameBytes = await versionsWithSameBytes(target.registry, manifest);
      const summary = {
        model: manifest.name,
        version: manifest.version,
        sha256: manifest.sha256,
        size: manifest.size,
        createdAt: manifest.createdAt,
        inputs: manifest.inputs,
        outputs: manifest.outputs,
        labels: manifest.labels,
        goldenExamples: manifest.goldenExamples?.length ?? 0,
        alreadyPublished,
        sameBytesAs: sameBytes,
        registry: target.description,
      };
      if (options.json) {
        io.stdout(`${JSON.stringify(summary)}\n`);
        return;
      }
      io.stdout(
        alreadyPublished
          ? `already published: ${manifest.name} version ${manifest.version} on ${target.description} has these bytes and extras (published ${manifest.createdAt}); nothing was written\n`
          : `published ${manifest.name} version ${manifest.version} to ${target.description}\n`,
      );
      io.stdout(`  sha256 ${manifest.sha256}, ${manifest.size} bytes\n`);
      if (sameBytes.length > 0) {
        const versions = sameBytes.map((version) => `v${version}`).join(', ');
        io.stdout(`  note: ${versions} of ${manifest.name} had the same bytes already (same sha256)\n`);
      }
      io.stdout(
        `  inputs  ${describeSpecs(manifest.inputs)}\n  outputs ${describeSpecs(manifest.outputs)}\n`,
      );
      if (target.apiUrl) {
        io.stdout(
          `  try: curl -s ${target.apiUrl}/v2/models/${manifest.name}/versions/${manifest.version}\n`,
        );
      }
      if (manifest.version > 1) {
        // Publishing never moves traffic, on AWS or locally; say how this version gets some.
        io.stdout(
          `  roll it out: npx sluice deploy ${manifest.name} --version ${manifest.version}${options.local ? ' --local' : ''}\n`,
        );
      }
    });
}

/** The other published versions of the model whose bytes have this version's sha256. */
async function versionsWithSameBytes(registry: ModelRegistry, manifest: ModelManifest): Promise<number[]> {
  const versions = await registry.readManifests(manifest.name);
  return versions
    .filter((entry) => entry.version !== manifest.version && entry.manifest?.sha256 === manifest.sha256)
    .map((entry) => entry.version);
}

function describeSpecs(specs: readonly { name: string; datatype: string; shape: number[] }[]): string {
  return specs.map((spec) => `${spec.name} ${spec.datatype}[${spec.shape.join(',')}]`).join(', ');
}
