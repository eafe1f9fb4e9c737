/** The `sluice` command line. */
// The SDK warns about Node 20 on every client; the project supports Node >= 20 (Lambda runs a newer one).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { defaultIo, runCli } from '../lib/cli/run-cli.js';

process.exitCode = await runCli(process.argv.slice(2), defaultIo());
