import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';

/**
 * Wraps a Lambda handler so every log line of an invocation carries the Lambda context, as Powertools'
 * `injectLambdaContext` does (https://docs.powertools.aws.dev/lambda/typescript/latest/core/logger/#capturing-lambda-context-info):
 * `cold_start`, `function_name`, `function_memory_size`, `function_arn` and `function_request_id` through
 * `logger.addContext`, with the X-Ray trace id (`xray_trace_id`) that the Logger reads from the invocation's
 * `_X_AMZN_TRACE_ID` on its own; and clears the keys a handler appended for one invocation once it ends, as the
 * decorator's `resetKeys` option does. The event is never logged (no payloads in logs). Its cost per invocation
 * is one `addContext` and one `resetKeys`: a few property writes.
 *
 * @example
 * const logger = new Logger({ serviceName: 'sluice' });
 * export const handler = withLambdaContext(logger, async (event: unknown) =>
 *   rollbackOnAlarm(parseAlarmStateChangeEvent(event), deps),
 * );
 */
export function withLambdaContext<TEvent, TResult>(
  logger: Logger,
  handler: (event: TEvent, context?: Context) => Promise<TResult>,
): (event: TEvent, context?: Context) => Promise<TResult> {
  return async (event, context) => {
    // Lambda always passes a context; a test or a local caller may not.
    if (context !== undefined) logger.addContext(context);
    try {
      return await handler(event, context);
    } finally {
      logger.resetKeys();
    }
  };
}
