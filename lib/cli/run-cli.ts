import { Command, CommanderError, type OutputConfiguration } from 'commander';
import { SluiceError } from '../core/errors/SluiceError.js';
import { readPackageVersion } from '../local/package-version.js';
import { PublishInputError } from '../publish/PublishInputError.js';
import { checkArgumentLengths } from './argument-limits.js';
import type { CliIo } from './cli-io.js';
import { connectionFailure } from './connection-failure.js';
import { registerCostCommand } from './cost-command.js';
import { registerDeployCommand } from './deploy-command.js';
import { ExitCode, UsageError } from './exit-codes.js';
import { parseModelArgument } from './model-argument.js';
import { registerModelsCommand } from './models-command.js';
import { registerPromoteCommand } from './promote-command.js';
import { registerPublishCommand } from './publish-command.js';
import { registerRollbackCommand } from './rollback-command.js';
import { registerShowCommand } from './show-command.js';
import { registerStatusCommand } from './status-command.js';
import { registerVersionsCommand } from './versions-command.js';

/** The flag that asks for machine-readable output, errors included. */
const JSON_FLAG = '--json';

/** The name of the argument every model command takes first; checked by {@link parseModelArgument}. */
const MODEL_ARGUMENT = 'model';

/**
 * Runs the `sluice` CLI on `argv` (without the node and script names) and returns its exit code.
 *
 * Exit 0 ok, 1 failure, 2 usage (commander's own refusals included). With `--json`, every error is printed to
 * stdout as `{"error": "..."}`; otherwise it goes to stderr as `sluice: ...`.
 *
 * @example
 * process.exitCode = await runCli(process.argv.slice(2), defaultIo());
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const json = argv.includes(JSON_FLAG);
  const fail = (message: string): void => {
    if (json) io.stdout(`${JSON.stringify({ error: message })}\n`);
    else io.stderr(`sluice: ${message}\n`);
  };
  try {
    // Before anything else: onnxruntime crashes (SIGSEGV) in a process with a very long command line.
    checkArgumentLengths(argv);
    const program = buildProgram(io, json);
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit through here with code 0; commander printed everything else already, unless --json.
      if (error.exitCode === 0) return ExitCode.OK;
      if (json) fail(error.message.replace(/^error: /, ''));
      return ExitCode.USAGE;
    }
    const connection = connectionFailure(error);
    if (connection) {
      fail(describeConnectionFailure(connection, argv.includes('--local')));
      return ExitCode.FAILURE;
    }
    fail(error instanceof Error ? error.message : String(error));
    if (error instanceof UsageError || error instanceof PublishInputError) return ExitCode.USAGE;
    if (!(error instanceof SluiceError) && io.env.SLUICE_DEBUG) io.stderr(`${(error as Error).stack}\n`);
    return ExitCode.FAILURE;
  }
}

function buildProgram(io: CliIo, json: boolean): Command {
  const program = new Command('sluice')
    .description(
      'Serverless inference for ONNX models: publish versions to the registry, inspect them, roll them out.',
    )
    .version(readPackageVersion(), '-V, --version', 'print the sluice version')
    // `sluice show iris --version 2` is the subcommand's --version, not the program's.
    .enablePositionalOptions()
    .exitOverride()
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 failure, 2 usage.\nTarget: --local for the running local stack (npm start), or --bucket / SLUICE_BUCKET for S3.',
    );

  registerPublishCommand(program, io);
  registerModelsCommand(program, io);
  registerVersionsCommand(program, io);
  registerShowCommand(program, io);
  registerDeployCommand(program, io);
  registerPromoteCommand(program, io);
  registerRollbackCommand(program, io);
  registerStatusCommand(program, io);
  registerCostCommand(program, io);

  // Every command's <model> is checked the same way: a name the registry cannot hold is a usage error (exit 2).
  for (const command of program.commands) {
    for (const argument of command.registeredArguments) {
      if (argument.name() === MODEL_ARGUMENT) argument.argParser(parseModelArgument);
    }
  }
  // Under --json, commander's own refusals are printed by runCli as JSON, not by commander as text.
  const output: OutputConfiguration = {
    writeOut: io.stdout,
    writeErr: io.stderr,
    outputError: json ? () => undefined : (text, write) => write(text),
  };
  for (const command of [program, ...program.commands]) command.configureOutput(output);
  return program;
}

function describeConnectionFailure(error: NodeJS.ErrnoException, local: boolean): string {
  const what = local
    ? 'the local stack is not reachable: it stopped or restarted (start it again with `npm start`, then retry)'
    : 'the registry is not reachable: check the network, --endpoint and --region';
  return `${what} (${error.message})`;
}
