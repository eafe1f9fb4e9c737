import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlarmThresholdsSchema } from '../../lib/core/config/deploy-config.js';
import { VersionAlarmKind } from '../../lib/core/gates/version-alarm-name.js';
import { versionAlarmSpecs } from '../../lib/core/gates/version-alarm-specs.js';
import { breachedGates, VERSION_GATES } from '../../lib/core/gates/version-gates.js';

const THRESHOLDS = AlarmThresholdsSchema.parse({});
const TARGET = { functionName: 'fn', alias: 'live', lambdaVersion: '7', model: 'iris', modelVersion: 2 };
const QUIET = { requests: 100, errors: 0, rejected: 0, invalidOutputs: 0, p99Ms: 10 };

describe('version gates: one rule, an alarm on AWS and the health window locally', () => {
  it('declares a local gate for every version alarm but Lambda’s own errors, which only AWS counts', () => {
    const alarms = versionAlarmSpecs(TARGET, THRESHOLDS).map((spec) => spec.kind);
    const gates = VERSION_GATES.map((gate) => gate.gate);
    assert.deepEqual(
      [...gates, VersionAlarmKind.ERRORS].sort(),
      [...alarms].sort(),
      'every gate is an alarm, every alarm a gate',
    );
  });

  it('fires at the threshold each alarm fires at (GreaterThanOrEqualToThreshold)', () => {
    const specs = new Map(versionAlarmSpecs(TARGET, THRESHOLDS).map((spec) => [spec.kind, spec.threshold]));
    const at = (figures: Partial<typeof QUIET>) =>
      breachedGates({ ...QUIET, ...figures }, THRESHOLDS, 'now', QUIET).map((breach) => breach.gate);
    const errors = specs.get(VersionAlarmKind.MODEL_ERRORS) ?? 0;
    assert.deepEqual(at({ errors }), [VersionAlarmKind.MODEL_ERRORS], `${errors} of 100 is ${errors}%`);
    assert.deepEqual(at({ errors: errors - 1 }), []);
    const p99 = specs.get(VersionAlarmKind.P99) ?? 0;
    assert.deepEqual(at({ p99Ms: p99 }), [VersionAlarmKind.P99]);
    assert.deepEqual(at({ p99Ms: p99 - 1 }), []);
    const invalid = specs.get(VersionAlarmKind.INVALID_OUTPUTS) ?? 0;
    assert.deepEqual(at({ invalidOutputs: invalid }), [VersionAlarmKind.INVALID_OUTPUTS]);
    assert.deepEqual(at({ invalidOutputs: invalid - 1 }), []);
    const rejected = specs.get(VersionAlarmKind.REJECTED_INPUTS) ?? 0;
    assert.deepEqual(at({ rejected }), [VersionAlarmKind.REJECTED_INPUTS]);
    assert.deepEqual(at({ rejected: rejected - 1 }), []);
  });

  it('judges refused inputs against the stable version’s share, and not at all without it', () => {
    const candidate = { ...QUIET, rejected: 60 };
    assert.deepEqual(breachedGates(candidate, THRESHOLDS, 'now'), [], 'no baseline: the clients’ input');
    assert.deepEqual(breachedGates(candidate, THRESHOLDS, 'now', { ...QUIET, rejected: 55 }), []);
    const renamed = breachedGates(candidate, THRESHOLDS, 'now', QUIET);
    assert.equal(renamed[0]?.gate, VersionAlarmKind.REJECTED_INPUTS);
    assert.match(
      renamed[0]?.reason ?? '',
      /refused inputs 60\.0% \(60 of 100\) now against 0\.0% for the stable version/,
    );
  });
});
