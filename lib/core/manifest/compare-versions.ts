import { compareSignatures } from './compare-signatures.js';
import type { ModelManifest } from './ModelManifest.js';

/** How a candidate's class labels differ from the stable version's. */
export const LabelChange = {
  /** The same labels in the same order (or neither has labels). */
  NONE: 'none',
  /** The same labels in another order: the same class index now has another name. */
  REORDERED: 'reordered',
  /** Labels added, removed or renamed. */
  CHANGED: 'changed',
  /** The candidate has labels; the stable version had none. */
  ADDED: 'added',
  /** The stable version had labels; the candidate has none. */
  REMOVED: 'removed',
} as const;
/** One kind of {@link LabelChange}. */
export type LabelChange = (typeof LabelChange)[keyof typeof LabelChange];

/** What changes for clients between two versions of a model, as `sluice deploy` shows it before acting. */
export interface VersionChanges {
  /** The stable version. */
  readonly from: number;
  /** The candidate. */
  readonly to: number;
  readonly sha256: { readonly stable: string; readonly candidate: string; readonly same: boolean };
  /** One line per input or output renamed, removed, added or reshaped (see `compareSignatures`); empty when equal. */
  readonly signature: readonly string[];
  readonly labels: {
    readonly stable?: readonly string[];
    readonly candidate?: readonly string[];
    readonly change: LabelChange;
  };
  readonly goldenExamples: { readonly stable: number; readonly candidate: number };
}

/**
 * What changes between the stable version and a candidate: bytes (sha256), input/output signature, class labels
 * (content and order: a golden example compares class indices, so reordered labels pass it and still rename every
 * answer) and the number of golden examples.
 *
 * @example
 * const changes = compareVersions(stableManifest, candidateManifest);
 * if (changes.labels.change !== LabelChange.NONE) console.log('labels differ');
 */
export function compareVersions(stable: ModelManifest, candidate: ModelManifest): VersionChanges {
  return {
    from: stable.version,
    to: candidate.version,
    sha256: { stable: stable.sha256, candidate: candidate.sha256, same: stable.sha256 === candidate.sha256 },
    signature: compareSignatures(stable, candidate),
    labels: {
      ...(stable.labels ? { stable: stable.labels } : {}),
      ...(candidate.labels ? { candidate: candidate.labels } : {}),
      change: labelChange(stable.labels, candidate.labels),
    },
    goldenExamples: {
      stable: stable.goldenExamples?.length ?? 0,
      candidate: candidate.goldenExamples?.length ?? 0,
    },
  };
}

function labelChange(
  stable: readonly string[] | undefined,
  candidate: readonly string[] | undefined,
): LabelChange {
  if (!stable && !candidate) return LabelChange.NONE;
  if (!stable) return LabelChange.ADDED;
  if (!candidate) return LabelChange.REMOVED;
  if (stable.length === candidate.length && stable.every((label, index) => candidate[index] === label)) {
    return LabelChange.NONE;
  }
  const sorted = (labels: readonly string[]) => [...labels].sort().join('\u0000');
  return stable.length === candidate.length && sorted(stable) === sorted(candidate)
    ? LabelChange.REORDERED
    : LabelChange.CHANGED;
}
