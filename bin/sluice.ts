/** The `sluice` command line. */
// The SDK warns on every client when it runs on a Node older than 22 (platforms without the project's own Node 24).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { defaultIo } from '../lib/cli/cli-io.js';
import { runCli } from '../lib/cli/run-cli.js';

process.exitCode = await runCli(process.argv.slice(2), defaultIo());
