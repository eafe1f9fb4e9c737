import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { traceAwsClient } from '../../lib/aws/lambda-runtime/trace-aws-client.js';
import { withLambdaContext } from '../../lib/aws/lambda-runtime/with-lambda-context.js';

/** A Lambda context as the Node.js runtime passes it (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-context.html). */
function contextOf(requestId: string): Context {
  return {
    awsRequestId: requestId,
    functionName: 'Sluice-ModelirisFunction-AbC',
    functionVersion: '7',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:Sluice-ModelirisFunction-AbC:live',
    memoryLimitInMB: '1024',
    logGroupName: '/aws/lambda/Sluice-ModelirisFunction-AbC',
    logStreamName: '2026/11/30/[7]abc',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 29_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** A Logger writing its JSON lines into `lines`. */
function capturingLogger(lines: Record<string, unknown>[]): Logger {
  const logger = new Logger({ serviceName: 'sluice', persistentKeys: { handler: 'test' } });
  const sink = (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>);
  // Powertools writes through its console; capture what it would print.
  Object.assign(logger, {
    console: { info: sink, warn: sink, error: sink, debug: sink, log: sink, trace: sink },
  });
  return logger;
}

describe('observability: Lambda context on every log line, as Powertools injectLambdaContext does', () => {
  it('adds cold start, function name, request id and the X-Ray trace id, and clears per-invocation keys', async () => {
    const lines: Record<string, unknown>[] = [];
    const previous = {
      trace: process.env._X_AMZN_TRACE_ID,
      initialization: process.env.AWS_LAMBDA_INITIALIZATION_TYPE,
    };
    // What Lambda sets: an on-demand sandbox (Powertools reports cold starts only there) and the invocation's trace.
    process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
    process.env._X_AMZN_TRACE_ID =
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
    const logger = capturingLogger(lines);
    try {
      const handler = withLambdaContext(logger, async (event: { n: number }) => {
        logger.appendKeys({ step: event.n });
        logger.info('handled');
        return event.n;
      });
      assert.equal(await handler({ n: 1 }, contextOf('req-1')), 1);
      assert.equal(await handler({ n: 2 }, contextOf('req-2')), 2);
      logger.info('after');
    } finally {
      restore('_X_AMZN_TRACE_ID', previous.trace);
      restore('AWS_LAMBDA_INITIALIZATION_TYPE', previous.initialization);
    }
    const [first, second, after] = lines;
    assert.equal(first?.function_request_id, 'req-1');
    assert.equal(first?.cold_start, true);
    assert.equal(first?.function_name, 'Sluice-ModelirisFunction-AbC');
    assert.equal(first?.xray_trace_id, '1-5759e988-bd862e3fe1be46a994272793');
    assert.equal(first?.handler, 'test');
    assert.equal(second?.function_request_id, 'req-2');
    assert.equal(second?.cold_start, false);
    assert.equal(second?.step, 2);
    assert.equal(after?.step, undefined, 'keys appended for an invocation end with it');
    for (const line of lines) assert.equal(JSON.stringify(line).includes('"n":'), false, 'no payload');
  });

  it('still calls the handler without a context (a local caller)', async () => {
    const handler = withLambdaContext(capturingLogger([]), async (event: number) => event * 2);
    assert.equal(await handler(21), 42);
  });

  it("wraps the registry's S3 client with a tracer when one is given, and leaves it alone otherwise", () => {
    const client = { name: 's3' };
    const traced: unknown[] = [];
    const tracer = {
      captureAWSv3Client<T>(captured: T): T {
        traced.push(captured);
        return captured;
      },
    };
    assert.equal(traceAwsClient(client), client);
    assert.deepEqual(traced, []);
    assert.equal(traceAwsClient(client, tracer), client);
    assert.deepEqual(traced, [client]);
  });
});
