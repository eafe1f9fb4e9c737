import type { Command } from 'commander';
import { compareVersions, LabelChange, type VersionChanges } from '../core/manifest/compare-versions.js';
import type { ModelManifest } from '../core/manifest/ModelManifest.js';
import type { CliIo } from './cli-io.js';
import { printable } from './describe-rollout.js';
import { formatBytes } from './format-bytes.js';
import { parseVersionArgument } from './model-argument.js';
import { resolveRegistryTarget } from './registry-target.js';
import { type GlobalOptions, withTargetOptions } from './target-options.js';

/** Characters of a sha256 the text shows; `--json` has them whole. */
const SHA256_PREFIX_CHARS = 12;

/** Characters of a description the text quotes. */
const DESCRIPTION_CHARS = 60;

/** What `sluice diff` finds between two versions, beyond {@link VersionChanges}. */
interface VersionDiff extends VersionChanges {
  readonly model: string;
  readonly size: { readonly from: number; readonly to: number };
  /** Golden examples of each version, and how many of them both have (the same inputs, outputs and tolerance). */
  readonly golden: { readonly from: number; readonly to: number; readonly common: number };
  /** Items of each version's reference set (0: none), and whether the sets are the same bytes. */
  readonly reference: { readonly from: number; readonly to: number; readonly same: boolean };
  readonly description: { readonly from?: string; readonly to?: string; readonly same: boolean };
  readonly createdAt: { readonly from: string; readonly to: string };
}

/**
 * `sluice diff <model> <a> <b>`: what changes from version A to version B of a model: bytes (sha256, size),
 * input/output signature, class labels (content and order), golden examples, reference set, description. The same
 * comparison `sluice deploy` makes before acting, with A as the stable version. Exit 0 whatever it finds.
 */
export function registerDiffCommand(program: Command, io: CliIo): void {
  withTargetOptions(program.command('diff'), io)
    .description(
      'show what changes between two versions of a model: bytes, signature, labels, golden examples',
    )
    .argument('<model>', 'model name')
    .argument('<a>', 'the version to compare from', parseVersionArgument)
    .argument('<b>', 'the version to compare to', parseVersionArgument)
    .addHelpText('after', '\nExample:\n  npx sluice diff iris 3 4 --local')
    .action(async (model: string, a: number, b: number, options: GlobalOptions) => {
      const { registry } = await resolveRegistryTarget(options, io.env);
      const [from, to] = await Promise.all([registry.getManifest(model, a), registry.getManifest(model, b)]);
      const diff = diffVersions(model, from, to);
      io.stdout(options.json ? `${JSON.stringify(diff)}\n` : describeDiff(diff));
    });
}

function diffVersions(model: string, from: ModelManifest, to: ModelManifest): VersionDiff {
  const examples = (manifest: ModelManifest) =>
    (manifest.goldenExamples ?? []).map((example) => JSON.stringify(example));
  const toExamples = new Set(examples(to));
  return {
    model,
    ...compareVersions(from, to),
    size: { from: from.size, to: to.size },
    golden: {
      from: from.goldenExamples?.length ?? 0,
      to: to.goldenExamples?.length ?? 0,
      common: new Set(examples(from).filter((example) => toExamples.has(example))).size,
    },
    reference: {
      from: from.reference?.items ?? 0,
      to: to.reference?.items ?? 0,
      same: from.reference?.sha256 === to.reference?.sha256,
    },
    description: {
      ...(from.description === undefined ? {} : { from: from.description }),
      ...(to.description === undefined ? {} : { to: to.description }),
      same: from.description === to.description,
    },
    createdAt: { from: from.createdAt, to: to.createdAt },
  };
}

function describeDiff(diff: VersionDiff): string {
  const short = (sha256: string) => sha256.slice(0, SHA256_PREFIX_CHARS);
  const { from, to } = diff;
  const indent = ' '.repeat(19);
  const lines = [
    `${diff.model} v${from} -> v${to}`,
    `  sha256           ${diff.sha256.same ? `same (${short(diff.sha256.stable)}): the same bytes` : `${short(diff.sha256.stable)} -> ${short(diff.sha256.candidate)}`}`,
    `  size             ${diff.size.from === diff.size.to ? `same (${formatBytes(diff.size.from)})` : `${formatBytes(diff.size.from)} -> ${formatBytes(diff.size.to)}`}`,
    `  inputs/outputs   ${diff.signature.length === 0 ? 'same' : diff.signature.join(`\n${indent}`)}`,
    `  labels           ${describeLabels(diff)}`,
    `  golden examples  ${describeGolden(diff.golden, from, to)}`,
    `  reference set    ${describeReference(diff.reference)}`,
    `  description      ${diff.description.same ? 'same' : `${quote(diff.description.from)} -> ${quote(diff.description.to)}`}`,
    `  created          ${diff.createdAt.from} -> ${diff.createdAt.to}`,
  ];
  return `${lines.join('\n')}\n`;
}

function describeLabels(diff: VersionDiff): string {
  const list = (labels: readonly string[] | undefined) =>
    labels ? `[${labels.map((label) => printable(label)).join(', ')}]` : 'none';
  const { stable, candidate, change } = diff.labels;
  if (change === LabelChange.NONE) return stable ? `same ${list(stable)}` : 'none';
  const note =
    change === LabelChange.REORDERED
      ? ' (the same class index has another name: golden examples, which compare indices, cannot tell)'
      : '';
  return `${change}: ${list(stable)} -> ${list(candidate)}${note}`;
}

function describeGolden(golden: VersionDiff['golden'], from: number, to: number): string {
  if (golden.from === 0 && golden.to === 0) return 'none';
  if (golden.common === golden.from && golden.common === golden.to) return `${golden.from}, the same`;
  return (
    `${golden.from} -> ${golden.to} (${golden.common} in both, ${golden.from - golden.common} only in v${from}, ` +
    `${golden.to - golden.common} only in v${to})`
  );
}

function describeReference(reference: VersionDiff['reference']): string {
  const items = (count: number) => (count === 0 ? 'none' : `${count} items`);
  if (reference.from === 0 && reference.to === 0) return 'none';
  if (reference.same) return `same (${items(reference.from)})`;
  return `${items(reference.from)} -> ${items(reference.to)}`;
}

function quote(text: string | undefined): string {
  if (text === undefined) return 'none';
  const line = printable(text);
  return JSON.stringify(line.length > DESCRIPTION_CHARS ? `${line.slice(0, DESCRIPTION_CHARS - 1)}…` : line);
}
