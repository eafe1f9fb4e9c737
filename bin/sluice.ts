/** The `sluice` command line. */
// The SDK warns on every client when it runs on a Node older than 22 (platforms without the project's own Node 24).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { defaultIo } from '../lib/cli/cli-io.js';
import { runCli } from '../lib/cli/run-cli.js';

// `sluice ... | head` closes the pipe before the output ends: that ends the command quietly, as it does any Unix
// tool, instead of with an unhandled EPIPE and its stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit();
  });
}

process.exitCode = await runCli(process.argv.slice(2), defaultIo());
