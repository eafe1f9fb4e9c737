import type { Command } from 'commander';
import type { CliIo } from './cli-io.js';
import { resolveRegistryTarget } from './registry-target.js';
import { type GlobalOptions, withTargetOptions } from './target-options.js';

/** `sluice models`: the names of the models with at least one published version. */
export function registerModelsCommand(program: Command, io: CliIo): void {
  withTargetOptions(program.command('models'), io)
    .description('list the models in the registry')
    .action(async (options: GlobalOptions) => {
      const { registry } = await resolveRegistryTarget(options, io.env);
      const models = await registry.listModels();
      if (options.json) io.stdout(`${JSON.stringify({ models })}\n`);
      else io.stdout(models.length ? `${models.join('\n')}\n` : 'no models published yet\n');
    });
}
