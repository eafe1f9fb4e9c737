import * as z from 'zod';
import { describeIssues } from '../errors/describe-issues.js';
import { SluiceError } from '../errors/SluiceError.js';

/** EventBridge `source` of CloudWatch alarm events. */
export const ALARM_EVENT_SOURCE = 'aws.cloudwatch';

/** EventBridge `detail-type` of an alarm's state change. */
export const ALARM_STATE_CHANGE = 'CloudWatch Alarm State Change';

/** CloudWatch's alarm states. */
export const AlarmState = { OK: 'OK', ALARM: 'ALARM', INSUFFICIENT_DATA: 'INSUFFICIENT_DATA' } as const;
/** One alarm state. */
export type AlarmState = (typeof AlarmState)[keyof typeof AlarmState];

/**
 * The parts of a "CloudWatch Alarm State Change" event sluice reads: the alarm's name and its new state with
 * the reason CloudWatch gives. Other fields (previous state, configuration, metrics) are allowed and ignored.
 */
export const AlarmStateChangeEventSchema = z.object({
  source: z.literal(ALARM_EVENT_SOURCE),
  'detail-type': z.literal(ALARM_STATE_CHANGE),
  detail: z.object({
    alarmName: z.string().min(1),
    state: z.object({
      value: z.enum([AlarmState.OK, AlarmState.ALARM, AlarmState.INSUFFICIENT_DATA]),
      reason: z.string().default('no reason given'),
      timestamp: z.string().optional(),
    }),
  }),
});
/** An alarm state change event. */
export type AlarmStateChangeEvent = z.infer<typeof AlarmStateChangeEventSchema>;

/** An event that is not a CloudWatch alarm state change (the rule should never deliver one). */
export class InvalidAlarmEventError extends SluiceError {}

/**
 * Parses an EventBridge event as an alarm state change; throws {@link InvalidAlarmEventError} naming the field.
 *
 * @example
 * const event = parseAlarmStateChangeEvent(raw);
 * if (event.detail.state.value === AlarmState.ALARM) console.log(event.detail.alarmName);
 */
export function parseAlarmStateChangeEvent(event: unknown): AlarmStateChangeEvent {
  const parsed = AlarmStateChangeEventSchema.safeParse(event);
  if (!parsed.success) {
    throw new InvalidAlarmEventError(
      `not a CloudWatch alarm state change event: ${describeIssues(parsed.error)}`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}
