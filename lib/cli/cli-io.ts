import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { SFNClient } from '@aws-sdk/client-sfn';
/** Where the CLI writes; tests pass buffers. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** True when stderr is a terminal: progress bars are drawn only then. */
  readonly interactive: boolean;
  readonly env: Record<string, string | undefined>;
  /**
   * Waits between two reads of a rollout that `sluice deploy` follows (tests pass one driven by their clock).
   * @default a timer
   */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * The time, epoch milliseconds, for what a command says about time (`status`: the watch window, the next step).
   * @default Date.now
   */
  readonly now?: () => number;
  /**
   * Ends a command that runs until stopped (`sluice logs --follow`; tests pass their own).
   * @default Ctrl-C (SIGINT)
   */
  readonly signal?: AbortSignal;
  /**
   * The Lambda, CloudWatch and CloudWatch Logs clients of the rollout commands on AWS (tests pass the fake
   * account's).
   * @default clients for the registry bucket's region
   */
  readonly awsClients?: AwsClients;
  /**
   * The Step Functions client of `sluice batch` on AWS (tests pass the fake account's).
   * @default a client for the registry bucket's region
   */
  readonly stepFunctions?: SFNClient;
}

/** The AWS control-plane clients the CLI's rollout commands use. */
export interface AwsClients {
  readonly lambda: LambdaClient;
  readonly cloudwatch: CloudWatchClient;
  readonly logs: CloudWatchLogsClient;
}

/**
 * The process's own streams and environment.
 *
 * @example
 * process.exitCode = await runCli(process.argv.slice(2), defaultIo());
 */
export function defaultIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    interactive: Boolean(process.stderr.isTTY),
    env: process.env,
  };
}
