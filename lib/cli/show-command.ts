import type { Command } from 'commander';
import type { ModelManifest } from '../core/manifest/ModelManifest.js';
import type { TensorSpec } from '../core/tensor/TensorSpec.js';
import type { CliIo } from './cli-io.js';
import { formatBytes } from './format-bytes.js';
import { formatTable } from './format-table.js';
import { parseVersionArgument } from './model-argument.js';
import { resolveRegistryTarget } from './registry-target.js';
import { type GlobalOptions, withTargetOptions } from './target-options.js';

/**
 * `sluice show <model> [--version N]`: a version's manifest (default: the newest), for people, or whole as JSON with
 * `--json`.
 */
export function registerShowCommand(program: Command, io: CliIo): void {
  withTargetOptions(program.command('show'), io)
    .description("print a version's manifest (default: the newest)")
    .argument('<model>', 'model name')
    .option('--version <n>', 'version number', parseVersionArgument)
    .action(async (model: string, options: GlobalOptions & { version?: number }) => {
      const { registry } = await resolveRegistryTarget(options, io.env);
      const version = options.version ?? (await registry.latestVersion(model));
      const manifest = await registry.getManifest(model, version);
      io.stdout(options.json ? `${JSON.stringify(manifest)}\n` : describeManifest(manifest));
    });
}

/** A manifest for people: identity, signature, labels, golden examples, ONNX metadata. */
function describeManifest(manifest: ModelManifest): string {
  const lines = [
    `${manifest.name} version ${manifest.version}`,
    `  created      ${manifest.createdAt}`,
    `  size         ${formatBytes(manifest.size)} (${manifest.size} bytes)`,
    `  sha256       ${manifest.sha256}`,
  ];
  if (manifest.description) lines.push(`  description  ${manifest.description}`);
  if (manifest.labels) lines.push(`  labels       ${manifest.labels.join(', ')}`);
  lines.push(`  golden       ${manifest.goldenExamples?.length ?? 0} example(s)`);
  if (manifest.onnx) {
    const { irVersion, opsetVersion, producerName, producerVersion } = manifest.onnx;
    const facts = [
      irVersion === undefined ? undefined : `IR ${irVersion}`,
      opsetVersion === undefined ? undefined : `opset ${opsetVersion}`,
      producerName === undefined
        ? undefined
        : `from ${producerName}${producerVersion ? ` ${producerVersion}` : ''}`,
    ].filter((fact) => fact !== undefined);
    if (facts.length > 0) lines.push(`  onnx         ${facts.join(', ')}`);
  }
  return `${lines.join('\n')}\n\n${signatureTable(manifest.inputs, manifest.outputs)}`;
}

function signatureTable(inputs: readonly TensorSpec[], outputs: readonly TensorSpec[]): string {
  const row = (kind: string, spec: TensorSpec): string[] => [
    kind,
    spec.name,
    spec.datatype,
    `[${spec.shape.join(', ')}]`,
  ];
  return formatTable(
    [{ header: 'KIND' }, { header: 'NAME' }, { header: 'DATATYPE' }, { header: 'SHAPE (-1: any size)' }],
    [...inputs.map((spec) => row('input', spec)), ...outputs.map((spec) => row('output', spec))],
  );
}
