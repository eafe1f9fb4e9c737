import type { TensorSpec } from '../tensor/TensorSpec.js';
import type { ModelManifest } from './ModelManifest.js';

/**
 * How a candidate's input/output signature differs from the stable version's, one line per difference (an
 * input renamed, removed or added, a datatype or shape changed); empty when they match. Clients built for the
 * stable version send what it accepts, so a difference in inputs means they may be refused by the candidate.
 *
 * @example
 * compareSignatures(stable, candidate); // ['input "features" is missing (the stable version takes FP32 [-1, 4])']
 */
export function compareSignatures(
  stable: Pick<ModelManifest, 'inputs' | 'outputs'>,
  candidate: Pick<ModelManifest, 'inputs' | 'outputs'>,
): string[] {
  return [
    ...compareTensors('input', stable.inputs, candidate.inputs),
    ...compareTensors('output', stable.outputs, candidate.outputs),
  ];
}

function compareTensors(
  kind: string,
  stable: readonly TensorSpec[],
  candidate: readonly TensorSpec[],
): string[] {
  const differences: string[] = [];
  const byName = new Map(candidate.map((spec) => [spec.name, spec]));
  for (const before of stable) {
    const after = byName.get(before.name);
    if (!after) {
      differences.push(`${kind} "${before.name}" is missing (the stable version has ${describe(before)})`);
      continue;
    }
    if (after.datatype !== before.datatype || after.shape.join(',') !== before.shape.join(',')) {
      differences.push(`${kind} "${before.name}" changed from ${describe(before)} to ${describe(after)}`);
    }
  }
  const known = new Set(stable.map((spec) => spec.name));
  for (const after of candidate) {
    if (!known.has(after.name)) differences.push(`${kind} "${after.name}" is new (${describe(after)})`);
  }
  return differences;
}

function describe(spec: TensorSpec): string {
  return `${spec.datatype} [${spec.shape.join(', ')}]`;
}
