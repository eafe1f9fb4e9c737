import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareVersions, LabelChange } from '../../lib/core/manifest/compare-versions.js';
import type { ModelManifest } from '../../lib/core/manifest/ModelManifest.js';

/** A manifest of `version` with the given labels and golden example count. */
function manifest(version: number, labels: string[] | undefined, sha256 = 'a'.repeat(64)): ModelManifest {
  return {
    schemaVersion: 1,
    name: 'm',
    version,
    sha256,
    size: 10,
    createdAt: '2027-01-01T00:00:00.000Z',
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
    outputs: [{ name: 'scores', datatype: 'FP32', shape: [-1, 3] }],
    ...(labels ? { labels } : {}),
  };
}

describe('compareVersions: what changes between the stable version and a candidate', () => {
  it('names each kind of label change by content and order', () => {
    const cases: [string[] | undefined, string[] | undefined, LabelChange][] = [
      [undefined, undefined, LabelChange.NONE],
      [['a', 'b', 'c'], ['a', 'b', 'c'], LabelChange.NONE],
      [['a', 'b', 'c'], ['c', 'b', 'a'], LabelChange.REORDERED],
      [['a', 'b', 'c'], ['a', 'b', 'd'], LabelChange.CHANGED],
      [['a', 'b', 'c'], ['a', 'b', 'c', 'd'], LabelChange.CHANGED],
      [['a', 'a', 'b'], ['a', 'b', 'b'], LabelChange.CHANGED],
      [undefined, ['a', 'b', 'c'], LabelChange.ADDED],
      [['a', 'b', 'c'], undefined, LabelChange.REMOVED],
    ];
    for (const [stable, candidate, change] of cases) {
      assert.equal(
        compareVersions(manifest(1, stable), manifest(2, candidate)).labels.change,
        change,
        `${JSON.stringify(stable)} -> ${JSON.stringify(candidate)}`,
      );
    }
  });

  it('tells the same bytes from other bytes and counts golden examples', () => {
    const same = compareVersions(manifest(1, undefined), manifest(2, undefined));
    assert.deepEqual(same.sha256, { stable: 'a'.repeat(64), candidate: 'a'.repeat(64), same: true });
    assert.deepEqual(same.goldenExamples, { stable: 0, candidate: 0 });
    assert.deepEqual(same.signature, []);
    const other = compareVersions(manifest(1, undefined), manifest(2, undefined, 'b'.repeat(64)));
    assert.equal(other.sha256.same, false);
  });
});
