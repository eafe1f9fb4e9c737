import { UsageError } from './exit-codes.js';

/**
 * Longest single command-line argument the CLI takes, in characters: as long as a path may be (PATH_MAX) and as
 * long as a manifest's description. Longer values belong in the `--extras` file.
 */
export const MAX_ARGUMENT_CHARS = 4096;

/**
 * Longest whole command line the CLI takes, in characters. onnxruntime-node crashes with SIGSEGV when it creates a
 * session in a process whose command line is about 29 KB or more (checked with onnxruntime-node 1.30 on Linux),
 * so sluice refuses long command lines before any session exists.
 */
export const MAX_COMMAND_LINE_CHARS = 16 * 1024;

/**
 * Refuses command lines onnxruntime cannot live with, naming the option whose value is too long.
 *
 * Runs before anything is parsed, so it cannot know commander's options: it names the flag just before the
 * long value (`--description 30000...`) or the flag of a `--flag=value` argument.
 *
 * @example
 * checkArgumentLengths(['publish', 'model.onnx', '--description', longText]); // throws UsageError naming --description
 */
export function checkArgumentLengths(argv: readonly string[]): void {
  let total = 0;
  argv.forEach((argument, index) => {
    total += argument.length + 1;
    if (argument.length > MAX_ARGUMENT_CHARS) {
      throw new UsageError(
        `${describeArgument(argv, index)} is ${argument.length} characters long; command-line values may have at most ${MAX_ARGUMENT_CHARS} (put long labels and descriptions in the --extras file)`,
      );
    }
  });
  if (total > MAX_COMMAND_LINE_CHARS) {
    throw new UsageError(
      `the command line is ${total} characters long; sluice takes at most ${MAX_COMMAND_LINE_CHARS} (onnxruntime crashes on longer ones): put long labels and descriptions in the --extras file`,
    );
  }
}

function describeArgument(argv: readonly string[], index: number): string {
  const argument = argv[index] as string;
  const inline = /^(--?[A-Za-z][\w-]*)=/.exec(argument);
  if (inline) return `the value of ${inline[1]}`;
  const previous = index > 0 ? argv[index - 1] : undefined;
  if (previous !== undefined && /^--?[A-Za-z][\w-]*$/.test(previous)) return `the value of ${previous}`;
  return `argument ${index + 1}`;
}
