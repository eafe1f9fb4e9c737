import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlarmThresholdsSchema } from '../../lib/core/config/alarm-thresholds.js';
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
    // The absolute ceiling, as the AWS alarm has it, where the stable version's latency is not known.
    const p99 = specs.get(VersionAlarmKind.P99) ?? 0;
    const alone = (p99Ms: number) =>
      breachedGates({ ...QUIET, p99Ms }, THRESHOLDS, 'now').map((breach) => breach.gate);
    assert.deepEqual(alone(p99), [VersionAlarmKind.P99]);
    assert.deepEqual(alone(p99 - 1), []);
    const invalid = specs.get(VersionAlarmKind.INVALID_OUTPUTS) ?? 0;
    assert.deepEqual(at({ invalidOutputs: invalid }), [VersionAlarmKind.INVALID_OUTPUTS]);
    assert.deepEqual(at({ invalidOutputs: invalid - 1 }), []);
    const rejected = specs.get(VersionAlarmKind.REJECTED_INPUTS) ?? 0;
    assert.deepEqual(at({ rejected }), [VersionAlarmKind.REJECTED_INPUTS]);
    assert.deepEqual(at({ rejected: rejected - 1 }), []);
  });

  it('judges p99 latency against the stable version’s of the same period: a ratio with a floor, not the ceiling', () => {
    const stable = { ...QUIET, p99Ms: 1_600 };
    // A restart made both slow, past the 1,000 ms ceiling: the candidate is not at fault.
    assert.deepEqual(breachedGates({ ...QUIET, p99Ms: 1_700 }, THRESHOLDS, 'now', stable), []);
    const slow = breachedGates({ ...QUIET, p99Ms: 2_400 }, THRESHOLDS, 'now', stable);
    assert.equal(slow[0]?.gate, VersionAlarmKind.P99);
    assert.match(
      slow[0]?.reason ?? '',
      /p99 latency 2400 ms now is at or above 2400 ms: 1\.5 times the stable version's 1600 ms/,
    );
    // A fast model: 1.5 times 4 ms is noise; 50 ms above it is not.
    const fast = { ...QUIET, p99Ms: 4 };
    assert.deepEqual(breachedGates({ ...QUIET, p99Ms: 40 }, THRESHOLDS, 'now', fast), []);
    assert.equal(
      breachedGates({ ...QUIET, p99Ms: 54 }, THRESHOLDS, 'now', fast)[0]?.gate,
      VersionAlarmKind.P99,
    );
    // A stable version with a handful of requests is no baseline: the ceiling judges.
    const few = { ...QUIET, requests: 3, p99Ms: 1_600 };
    assert.equal(
      breachedGates({ ...QUIET, p99Ms: 1_700 }, THRESHOLDS, 'now', few)[0]?.gate,
      VersionAlarmKind.P99,
    );
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
