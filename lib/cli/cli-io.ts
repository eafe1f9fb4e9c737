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
