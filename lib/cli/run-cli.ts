import { Command, CommanderError, Help, type OutputConfiguration } from 'commander';
import { SluiceError } from '../core/errors/SluiceError.js';
import { readPackageVersion } from '../local/package-version.js';
import { PublishInputError } from '../publish/PublishInputError.js';
import { checkArgumentLengths } from './argument-limits.js';
import { CLI_COMMANDS, type CliCommand, commandOf } from './cli-commands.js';
import type { CliIo } from './cli-io.js';
import { connectionFailure } from './connection-failure.js';
import { ExitCode, FollowTimeoutError, UsageError } from './exit-codes.js';

/** The flag that asks for machine-readable output, errors included. */
const JSON_FLAG = '--json';

/** The name of the argument every model command takes first; checked by {@link parseModelArgument}. */
const MODEL_ARGUMENT = 'model';

/**
 * Runs the `sluice` CLI on `argv` (without the node and script names) and returns its exit code.
 *
 * Exit 0 ok, 1 failure, 2 usage (commander's own refusals included), 3 `deploy --timeout` reached with the rollout
 * still running. With `--json`, every error is printed to
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
    const program = await buildProgram(io, json, commandOf(argv));
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
    if (error instanceof FollowTimeoutError) return error.exitCode;
    if (!(error instanceof SluiceError) && io.env.SLUICE_DEBUG) io.stderr(`${(error as Error).stack}\n`);
    return ExitCode.FAILURE;
  }
}

/**
 * The program with every command listed and only `running` registered whole (its module imported): the others are
 * names and summaries for the command list and for commander's suggestions.
 */
async function buildProgram(io: CliIo, json: boolean, running: CliCommand | undefined): Promise<Command> {
  const program = new Command('sluice')
    .description(
      'Serverless inference for ONNX models: publish versions to the registry, inspect them, roll them out.',
    )
    .version(readPackageVersion(), '-V, --version', 'print the sluice version')
    // `sluice show iris --version 2` is the subcommand's --version, not the program's.
    .enablePositionalOptions()
    .exitOverride()
    .showSuggestionAfterError()
    // The command list shows each command as its entry describes it, loaded or not.
    .configureHelp({
      subcommandTerm: (command) => {
        const entry = CLI_COMMANDS.find((candidate) => candidate.name === command.name());
        return entry ? `${entry.name} ${entry.usage}` : new Help().subcommandTerm(command);
      },
    })
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 failure, 2 usage, 3 `deploy --timeout` reached (the rollout keeps running).\n' +
        'Target: --local for the running local stack (npm start), or --bucket / SLUICE_BUCKET for S3.',
    );

  const register = running ? await running.load() : undefined;
  for (const entry of CLI_COMMANDS) {
    if (entry === running && register) register(program, io);
    else program.command(entry.name).description(entry.summary);
  }
  if (running) {
    // Every command's <model> is checked the same way: a name the registry cannot hold is a usage error (exit 2).
    const { parseModelArgument } = await import('./model-argument.js');
    for (const argument of program.commands.find((command) => command.name() === running.name)
      ?.registeredArguments ?? []) {
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
