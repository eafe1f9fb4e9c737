import { randomBytes } from 'node:crypto';
import { type Command, Option } from 'commander';
import { RouteNotFoundError } from '../core/errors/request-errors.js';
import { ApiGatewayEmulator } from '../local/ApiGatewayEmulator.js';
import { CONSOLE_ACTOR, CONSOLE_PATH, consoleRoutes } from '../local/console-routes.js';
import { rolloutRoutes } from '../local/local-control-routes.js';
import { runningLocalStack } from '../local/local-home.js';
import { hostGuarded, hostsOf, originsOf } from '../local/local-route-guard.js';
import { errorResult } from '../serving/proxy-result.js';
import { RolloutStore } from '../storage/RolloutStore.js';
import type { CliIo } from './cli-io.js';
import { UsageError } from './exit-codes.js';
import { resolveRegistryTarget } from './registry-target.js';
import { awsClients, resolveRolloutContext } from './rollout-context.js';
import { type RolloutCommandOptions, withRolloutTargetOptions } from './target-options.js';

/** Port of `sluice console` on AWS when --port is not given: beside the local stack's 3000. */
export const DEFAULT_CONSOLE_PORT = 3001;

/**
 * How often the AWS console's page reads the state again: sluice's metrics have a point per minute, and each read
 * asks GetMetricData for sixteen queries per version (each build's routed metrics found by a search, and the named
 * requests' set), priced per metric returned.
 */
export const CONSOLE_AWS_REFRESH_MS = 30_000;

/** Options of `sluice console`. */
interface ConsoleOptions extends RolloutCommandOptions {
  readonly port: string;
  readonly allowActions?: boolean;
}

/**
 * `sluice console`: the console page for an AWS deployment, served on 127.0.0.1 by this process and read through
 * the SDK with the user's own credentials: the registry's models and versions (S3), each model's rollout as
 * `sluice status` reads it (its state in the registry bucket, its function's alias and alarms), and each version's
 * figures from CloudWatch (sluice's EMF metrics per model and version, a GetMetricData call per 500 queries of a model
 * and refresh). Nothing is hosted or made public. With `--local`, prints the running local stack's console address.
 * `--allow-actions` adds promote and rollback, carried out by this process's engine (actor `console`), under the
 * same cross-site checks as the local stack's commands.
 */
export function registerConsoleCommand(program: Command, io: CliIo): void {
  withRolloutTargetOptions(program.command('console'), io)
    .description(
      'open the console page: models, rollouts and their gates, charted (AWS: read through the SDK)',
    )
    .addOption(
      new Option('--port <port>', 'port on 127.0.0.1 (AWS; 0 picks a free one)').default(
        String(DEFAULT_CONSOLE_PORT),
      ),
    )
    .option('--allow-actions', 'offer promote and rollback on the page (recorded with actor console)')
    .addHelpText(
      'after',
      '\nExamples:\n  npx sluice console --local\n  npx sluice console --bucket my-registry --region eu-west-1',
    )
    .action(async (options: ConsoleOptions) => {
      if (options.local) {
        const { apiUrl } = await runningLocalStack(io.env);
        io.stdout(`${apiUrl}${CONSOLE_PATH}\n`);
        return;
      }
      const port = Number(options.port);
      if (!/^[0-9]{1,5}$/.test(options.port) || port > 65535) {
        throw new UsageError(`--port must be a port number (0-65535); got "${options.port}"`);
      }
      const registry = await resolveRegistryTarget(options, io.env);
      const states = new RolloutStore({ store: registry.objects });
      // Each cdk-deployed model's state names its function; --function (or SLUICE_FUNCTION) names one for all.
      const functions = new Map<string, string>();
      const clients = io.awsClients ?? (await awsClients(registry.region));
      const context = await resolveRolloutContext(
        options,
        io.env,
        clients,
        (model) => functions.get(model),
        CONSOLE_ACTOR,
      );
      const { versionSeries, METRIC_PERIOD_STEP_MS } = await import('../aws/cloudwatch/version-series.js');
      const token = randomBytes(16).toString('hex');
      let url = '';
      const server = await ApiGatewayEmulator.start({
        port,
        // Only the console's own routes: there is no model API here.
        handler: async (event) =>
          errorResult(new RouteNotFoundError(`no route ${event.path}: this is the console`)),
        localRoutes: hostGuarded(
          {
            ...consoleRoutes({
              models: () => registry.registry.listModels(),
              registry: registry.registry,
              status: async (model) => {
                const functionName = (await states.current(model))?.functionName;
                if (functionName !== undefined) functions.set(model, functionName);
                return context.control.status(model);
              },
              series: (model, versions, window) => versionSeries(clients.cloudwatch, model, versions, window),
              // Drift figures are per output and version in CloudWatch (DriftPsi); the page shows them locally only.
              drift: async () => ({}),
              now: io.now ?? Date.now,
              token,
              actions: options.allowActions ?? false,
              source: 'aws',
              periodStepMs: METRIC_PERIOD_STEP_MS,
              // CloudWatch has a new point a minute, and each read costs (GetMetricData is priced per metric).
              refreshMs: CONSOLE_AWS_REFRESH_MS,
            }),
            ...rolloutRoutes({
              control: () => context.control,
              origins: () => originsOf(url),
              token,
            }),
          },
          () => hostsOf(url),
        ),
      });
      url = server.url;
      io.stdout(
        `sluice console for ${registry.description} on ${url}${CONSOLE_PATH}${options.allowActions ? ' (promote and rollback allowed)' : ''}; Ctrl-C stops it\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        if (io.signal) io.signal.addEventListener('abort', stop, { once: true });
        else process.once('SIGINT', stop);
      });
      await server.stop();
    });
}
