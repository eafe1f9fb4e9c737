import type { Command } from 'commander';
import type { CliIo } from './cli-io.js';

/** Adds one command, with its options and action, to the program. */
export type RegisterCommand = (program: Command, io: CliIo) => void;

/**
 * One `sluice` command as the program's own help lists it, and the module that registers it. The module is imported
 * only when the command runs (or shows its help), so `sluice --version`, `sluice --help` and every command load only
 * what they use: no onnxruntime for `status`, no AWS SDK for `--local` reads.
 */
export interface CliCommand {
  readonly name: string;
  /** What follows the name in the command list: `[options] <model>`. */
  readonly usage: string;
  /** The command's description, as it registers it. */
  readonly summary: string;
  readonly load: () => Promise<RegisterCommand>;
}

/**
 * Every command, in the order `sluice --help` lists them. A test checks that each entry's usage and summary are
 * what its module registers.
 */
export const CLI_COMMANDS: readonly CliCommand[] = [
  {
    name: 'publish',
    usage: '[options] <file>',
    summary: 'publish an ONNX file as the next version of a model',
    load: async () => (await import('./publish-command.js')).registerPublishCommand,
  },
  {
    name: 'gc',
    usage: '[options]',
    summary: 'remove the bytes of publishes that died before writing their manifest',
    load: async () => (await import('./gc-command.js')).registerGcCommand,
  },
  {
    name: 'models',
    usage: '[options]',
    summary: 'show every model: stable and candidate versions, weight, gate figures and the last event',
    load: async () => (await import('./models-command.js')).registerModelsCommand,
  },
  {
    name: 'versions',
    usage: '[options] <model>',
    summary: 'list the published versions of a model',
    load: async () => (await import('./versions-command.js')).registerVersionsCommand,
  },
  {
    name: 'show',
    usage: '[options] <model>',
    summary: "print a version's manifest (default: the newest)",
    load: async () => (await import('./show-command.js')).registerShowCommand,
  },
  {
    name: 'diff',
    usage: '[options] <model> <a> <b>',
    summary: 'show what changes between two versions of a model: bytes, signature, labels, golden examples',
    load: async () => (await import('./diff-command.js')).registerDiffCommand,
  },
  {
    name: 'predict',
    usage: '[options] <model>',
    summary: 'send rows or a request body to a model over HTTP, as a client would, and print the answer',
    load: async () => (await import('./predict-command.js')).registerPredictCommand,
  },
  {
    name: 'logs',
    usage: '[options] <model>',
    summary:
      "print a model's log lines: the function's CloudWatch logs on AWS, the local stack's with --local",
    load: async () => (await import('./logs-command.js')).registerLogsCommand,
  },
  {
    name: 'deploy',
    usage: '[options] <model>',
    summary: 'roll a published version out: golden check, then traffic step by step, gated on health',
    load: async () => (await import('./deploy-command.js')).registerDeployCommand,
  },
  {
    name: 'promote',
    usage: '[options] <model>',
    summary: "move the candidate to --weight percent, or to its plan's next step (100% makes it stable)",
    load: async () => (await import('./promote-command.js')).registerPromoteCommand,
  },
  {
    name: 'rollback',
    usage: '[options] <model>',
    summary: "send the candidate's traffic back to the stable version",
    load: async () => (await import('./rollback-command.js')).registerRollbackCommand,
  },
  {
    name: 'retire',
    usage: '[options] <model> <version>',
    summary: 'retire a version: no rollout is started to it again (refused while it is routed)',
    load: async () => (await import('./retire-command.js')).registerRetireCommand,
  },
  {
    name: 'status',
    usage: '[options] <model>',
    summary: "show a model's routing, the candidate's health, the observed traffic split and the history",
    load: async () => (await import('./status-command.js')).registerStatusCommand,
  },
  {
    name: 'batch',
    usage: '[options] [model]',
    summary: 'score a file of rows with a model in batches: results and a summary (local stack or AWS)',
    load: async () => (await import('./batch-command.js')).registerBatchCommand,
  },
  {
    name: 'console',
    usage: '[options]',
    summary: 'open the console page: models, rollouts and their gates, charted (AWS: read through the SDK)',
    load: async () => (await import('./console-command.js')).registerConsoleCommand,
  },
  {
    name: 'cost',
    usage: '[options]',
    summary: 'estimate what the synthesized app (cdk.out) costs a month and per million requests',
    load: async () => (await import('./cost-command.js')).registerCostCommand,
  },
];

/**
 * The command a command line runs (`sluice show iris` and `sluice help show` both name `show`), or undefined when
 * it runs none (`sluice --version`, `sluice --help`) or names no command sluice has. Program options take no values,
 * so the first argument that is not an option is the command.
 *
 * @example
 * commandOf(['status', 'iris', '--local'])?.name; // 'status'
 */
export function commandOf(argv: readonly string[]): CliCommand | undefined {
  const first = argv.findIndex((argument) => !argument.startsWith('-'));
  if (first < 0) return undefined;
  const name = argv[first] === 'help' ? argv[first + 1] : argv[first];
  return CLI_COMMANDS.find((command) => command.name === name);
}
