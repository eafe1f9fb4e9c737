/**
 * How sluice names the alarms scoped to one Lambda version: `sluice-<function>-<lambdaVersion>-<kind>`.
 * The CDK alarms and the ones `sluice deploy` creates share it, and the alarm-rollback function reads the
 * function and its version back from the name. Free of runtime imports: the constructs use it too.
 */

/** Prefix of every version alarm; the alarm-rollback rule matches `sluice-<function>-` for each model's function. */
export const VERSION_ALARM_PREFIX = 'sluice-';

/** What a version alarm watches; the last segment of its name. */
export const VersionAlarmKind = {
  /** Lambda `Errors` of the version (invocation failures). */
  ERRORS: 'errors',
  /** Lambda `Duration` p99 of the version. */
  P99: 'p99',
  /** sluice `Errors` (5xx answers) of the model version. */
  MODEL_ERRORS: 'model-errors',
  /** sluice `InvalidOutputs` (NaN or infinite outputs) of the model version. */
  INVALID_OUTPUTS: 'invalid-outputs',
  /** sluice `RejectedInputs` (4xx answers) of the model version. */
  REJECTED_INPUTS: 'rejected-inputs',
} as const;
/** One kind of version alarm. */
export type VersionAlarmKind = (typeof VersionAlarmKind)[keyof typeof VersionAlarmKind];

/** The Lambda version an alarm is scoped to, read from its name. */
export interface VersionAlarmSubject {
  /** The function's name (not its ARN). */
  readonly functionName: string;
  /** The published Lambda version, as `Qualifier` takes it. */
  readonly lambdaVersion: string;
  readonly kind: VersionAlarmKind;
}

const KINDS = Object.values(VersionAlarmKind).join('|');
/** Function names are letters, digits, `-` and `_`; the version is a number; the kind is one of the known ones. */
const ALARM_NAME_PATTERN = new RegExp(`^${VERSION_ALARM_PREFIX}([A-Za-z0-9_-]+)-([1-9][0-9]*)-(${KINDS})$`);

/**
 * The name of a version alarm. Works with CDK tokens for the function name and the version, too.
 *
 * @example
 * versionAlarmName('Sluice-IrisFunction-AbC', '7', VersionAlarmKind.P99); // 'sluice-Sluice-IrisFunction-AbC-7-p99'
 */
export function versionAlarmName(
  functionName: string,
  lambdaVersion: string,
  kind: VersionAlarmKind,
): string {
  return `${VERSION_ALARM_PREFIX}${functionName}-${lambdaVersion}-${kind}`;
}

/**
 * Reads a version alarm's name back; `undefined` for any other alarm.
 *
 * @example
 * parseVersionAlarmName('sluice-Sluice-IrisFunction-AbC-7-model-errors');
 * // { functionName: 'Sluice-IrisFunction-AbC', lambdaVersion: '7', kind: 'model-errors' }
 */
export function parseVersionAlarmName(alarmName: string): VersionAlarmSubject | undefined {
  const match = ALARM_NAME_PATTERN.exec(alarmName);
  if (match === null) return undefined;
  const [, functionName, lambdaVersion, kind] = match;
  const known = Object.values(VersionAlarmKind).find((candidate) => candidate === kind);
  if (functionName === undefined || lambdaVersion === undefined || known === undefined) return undefined;
  return { functionName, lambdaVersion, kind: known };
}
