import type { Command } from 'commander';
import type { CliIo } from './cli-io.js';
import { formatBytes } from './format-bytes.js';
import { formatTable } from './format-table.js';
import { resolveRegistryTarget } from './registry-target.js';
import { type GlobalOptions, withTargetOptions } from './target-options.js';

/** Characters of the sha256 the table shows; `sluice show` and `--json` print it whole. */
const SHA256_PREFIX_CHARS = 12;

/** Characters of a description the table shows, so a row fits a terminal. */
const DESCRIPTION_COLUMN_CHARS = 60;

/**
 * `sluice versions <model>`: one row per published version (version, time, size, sha256, description, `retired`
 * first when it is). A version whose manifest cannot be read is named with the reason, and the others are still
 * listed (exit 0).
 */
export function registerVersionsCommand(program: Command, io: CliIo): void {
  withTargetOptions(program.command('versions'), io)
    .description('list the published versions of a model')
    .argument('<model>', 'model name')
    .action(async (model: string, options: GlobalOptions) => {
      const { registry } = await resolveRegistryTarget(options, io.env);
      const entries = await registry.readManifests(model);
      const retirements = new Map(
        await Promise.all(
          entries.map(
            async (entry) =>
              [
                entry.version,
                await registry.retirement(model, entry.version).catch(() => undefined),
              ] as const,
          ),
        ),
      );
      const unreadable = entries.flatMap((entry) =>
        entry.error ? [{ version: entry.version, error: entry.error.message }] : [],
      );
      const manifests = entries.flatMap((entry) => (entry.manifest ? [entry.manifest] : []));
      if (options.json) {
        io.stdout(
          `${JSON.stringify({
            model,
            versions: manifests.map((m) => ({
              version: m.version,
              sha256: m.sha256,
              size: m.size,
              createdAt: m.createdAt,
              description: m.description,
              retired: retirements.get(m.version),
            })),
            unreadable,
          })}\n`,
        );
        return;
      }
      io.stdout(
        formatTable(
          [
            { header: 'VERSION', alignRight: true },
            { header: 'CREATED' },
            { header: 'SIZE', alignRight: true },
            { header: 'SHA256' },
            { header: 'DESCRIPTION' },
          ],
          entries.map((entry) =>
            entry.manifest
              ? [
                  String(entry.version),
                  entry.manifest.createdAt,
                  formatBytes(entry.manifest.size),
                  entry.manifest.sha256.slice(0, SHA256_PREFIX_CHARS),
                  `${retirements.get(entry.version) ? 'retired: ' : ''}${firstLine(entry.manifest.description ?? '')}`,
                ]
              : [String(entry.version), '-', '-', '-', 'unreadable manifest (below)'],
          ),
        ),
      );
      for (const bad of unreadable) io.stderr(`sluice: version ${bad.version} of ${model}: ${bad.error}\n`);
    });
}

/** A description's first line, cut to fit a terminal row. */
function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > DESCRIPTION_COLUMN_CHARS ? `${line.slice(0, DESCRIPTION_COLUMN_CHARS - 1)}…` : line;
}
