import { Command, CommanderError } from 'commander';
import { SluiceError } from '../errors/SluiceError.js';
import { registerDeployCommand } from './deploy-command.js';
import { ExitCode, UsageError } from './exit-codes.js';
import { createProgressReporter } from './progress.js';
import { registerPromoteCommand } from './promote-command.js';
import { publishModel } from './publish-model.js';
import { resolveRegistryTarget } from './registry-target.js';
import { registerRollbackCommand } from './rollback-command.js';
import { registerStatusCommand } from './status-command.js';
import { type GlobalOptions, withTargetOptions } from './target-options.js';

/** Where the CLI writes; tests pass buffers. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** True when stderr is a terminal: progress bars are drawn only then. */
  readonly interactive: boolean;
  readonly env: Record<string, string | undefined>;
}

/**
 * Runs the `sluice` CLI on `argv` (without the node and script names) and returns its exit code.
 *
 * @example
 * process.exitCode = await runCli(process.argv.slice(2), defaultIo());
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      return error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    const json = argv.includes('--json');
    const message = error instanceof Error ? error.message : String(error);
    if (json) io.stdout(`${JSON.stringify({ error: message })}\n`);
    else io.stderr(`sluice: ${message}\n`);
    if (error instanceof UsageError) return ExitCode.USAGE;
    if (!(error instanceof SluiceError) && io.env.SLUICE_DEBUG) io.stderr(`${(error as Error).stack}\n`);
    return ExitCode.FAILURE;
  }
}

/** The process's own streams and environment. */
export function defaultIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    interactive: Boolean(process.stderr.isTTY),
    env: process.env,
  };
}

function buildProgram(io: CliIo): Command {
  const program = new Command('sluice')
    .description(
      'Serverless inference for ONNX models: publish versions to the registry, inspect them, roll them out.',
    )
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 failure, 2 usage.\nTarget: --local for the running local stack (npm start), or --bucket / SLUICE_BUCKET for S3.',
    );

  const withTarget = (command: Command): Command => withTargetOptions(command, io);

  withTarget(program.command('publish'))
    .description('publish an ONNX file as the next version of a model')
    .argument('<file>', 'the .onnx file')
    .requiredOption('-m, --model <name>', 'model name (a-z, 0-9, "-", "_")')
    .option('--extras <file>', 'JSON file with labels, goldenExamples and description')
    .option('--labels <list>', 'comma-separated class labels, in output index order')
    .option('--description <text>', 'one line describing this version')
    .option('--skip-golden-check', 'publish even if the golden examples do not match here')
    .addHelpText(
      'after',
      '\nExample:\n  npx sluice publish model.onnx --model iris --extras iris.json --local',
    )
    .action(
      async (
        file: string,
        options: GlobalOptions & {
          model: string;
          extras?: string;
          labels?: string;
          description?: string;
          skipGoldenCheck?: boolean;
        },
      ) => {
        const target = await resolveRegistryTarget(options, io.env);
        const progress = createProgressReporter(io, !options.json);
        let manifest: Awaited<ReturnType<typeof publishModel>>;
        try {
          manifest = await publishModel(target.registry, {
            file,
            model: options.model,
            extrasFile: options.extras,
            labels: options.labels,
            description: options.description,
            skipGoldenCheck: options.skipGoldenCheck,
            onProgress: progress.update,
          });
        } finally {
          progress.stop();
        }
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
          registry: target.description,
        };
        if (options.json) {
          io.stdout(`${JSON.stringify(summary)}\n`);
          return;
        }
        io.stdout(`published ${manifest.name} version ${manifest.version} to ${target.description}\n`);
        io.stdout(`  sha256 ${manifest.sha256}, ${manifest.size} bytes\n`);
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
      },
    );

  withTarget(program.command('models'))
    .description('list the models in the registry')
    .action(async (options: GlobalOptions) => {
      const { registry } = await resolveRegistryTarget(options, io.env);
      const models = await registry.listModels();
      if (options.json) io.stdout(`${JSON.stringify({ models })}\n`);
      else io.stdout(models.length ? `${models.join('\n')}\n` : 'no models published yet\n');
    });

  withTarget(program.command('versions'))
    .description('list the published versions of a model')
    .argument('<model>', 'model name')
    .action(async (model: string, options: GlobalOptions) => {
      const { registry } = await resolveRegistryTarget(options, io.env);
      const versions = await registry.listVersions(model);
      const manifests = await Promise.all(versions.map((version) => registry.getManifest(model, version)));
      if (options.json) {
        io.stdout(
          `${JSON.stringify({
            model,
            versions: manifests.map((m) => ({
              version: m.version,
              sha256: m.sha256,
              size: m.size,
              createdAt: m.createdAt,
              description: m.description,
            })),
          })}\n`,
        );
        return;
      }
      for (const m of manifests) {
        io.stdout(
          `${String(m.version).padStart(4)}  ${m.createdAt}  ${m.sha256.slice(0, 12)}  ${String(m.size).padStart(10)} B  ${m.description ?? ''}\n`,
        );
      }
    });

  withTarget(program.command('show'))
    .description("print a version's manifest (default: the newest)")
    .argument('<model>', 'model name')
    .option('--version <n>', 'version number')
    .action(async (model: string, options: GlobalOptions & { version?: string }) => {
      const { registry } = await resolveRegistryTarget(options, io.env);
      if (options.version !== undefined && !/^[1-9][0-9]*$/.test(options.version)) {
        throw new UsageError(`--version must be a version number (1, 2, 3, ...); got "${options.version}"`);
      }
      const version = options.version ? Number(options.version) : await registry.latestVersion(model);
      const manifest = await registry.getManifest(model, version);
      io.stdout(`${JSON.stringify(manifest, null, options.json ? undefined : 2)}\n`);
    });

  registerDeployCommand(program, io);
  registerPromoteCommand(program, io);
  registerRollbackCommand(program, io);
  registerStatusCommand(program, io);

  return program;
}

function describeSpecs(specs: readonly { name: string; datatype: string; shape: number[] }[]): string {
  return specs.map((spec) => `${spec.name} ${spec.datatype}[${spec.shape.join(',')}]`).join(', ');
}
