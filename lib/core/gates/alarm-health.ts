import type { HealthReport } from '../rollout/RolloutTarget.js';

/**
 * What the rule reads of an alarm: DescribeAlarms' `MetricAlarm` fields of the same names
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricAlarm.html).
 */
export interface AlarmStateReading {
  readonly AlarmName?: string;
  /** `OK`, `ALARM` or `INSUFFICIENT_DATA`. */
  readonly StateValue?: string;
  readonly StateReason?: string;
}

/** CloudWatch's alarm states, as DescribeAlarms reports them. */
const ALARM = 'ALARM';
const OK = 'OK';

/**
 * The health of a candidate from the states of its version alarms: any alarm in ALARM makes it unhealthy
 * (the reasons name those alarms and why they fired); all OK makes it healthy; otherwise (INSUFFICIENT_DATA,
 * or an alarm that does not exist) it is unknown, which neither blocks nor rolls back.
 *
 * @example
 * healthFromAlarms(['sluice-fn-7-errors'], [{ AlarmName: 'sluice-fn-7-errors', StateValue: 'OK' }]);
 * // { verdict: 'healthy', reasons: ['sluice-fn-7-errors is OK'] }
 */
export function healthFromAlarms(
  expected: readonly string[],
  alarms: readonly AlarmStateReading[],
): HealthReport {
  const byName = new Map(alarms.map((alarm) => [alarm.AlarmName, alarm]));
  const firing: string[] = [];
  const unsure: string[] = [];
  const fine: string[] = [];
  for (const name of expected) {
    const alarm = byName.get(name);
    if (alarm === undefined) {
      unsure.push(`${name} does not exist`);
    } else if (alarm.StateValue === ALARM) {
      firing.push(`${name} is ALARM: ${alarm.StateReason ?? 'no reason given'}`);
    } else if (alarm.StateValue === OK) {
      fine.push(`${name} is OK`);
    } else {
      unsure.push(`${name} is ${alarm.StateValue ?? 'in no state'}`);
    }
  }
  if (firing.length > 0) return { verdict: 'unhealthy', reasons: firing };
  if (unsure.length > 0) return { verdict: 'unknown', reasons: unsure };
  return { verdict: 'healthy', reasons: fine };
}
