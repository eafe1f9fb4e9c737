export { ExitCode, UsageError } from './exit-codes.js';
export { type PublishRequest, publishModel } from './publish-model.js';
export { type CliIo, defaultIo, runCli } from './run-cli.js';
