// Cold start of the bundled predict handler: process start to first prediction, model from the embedded S3.
import { performance } from 'node:perf_hooks';
import { handler } from '../../functions/predict/index.js';
import { buildProxyEvent } from '../../lib/core/contract/proxy-event.js';

const result = await handler(
  buildProxyEvent({
    method: 'POST',
    path: `/v2/models/${process.env.SLUICE_MODEL}/infer`,
    body: process.env.BENCH_BODY ?? '',
    requestId: 'cold-start',
    requestTimeEpoch: Date.now(),
  }),
);
if (result.statusCode !== 200)
  throw new Error(`cold start request failed: ${result.statusCode} ${result.body}`);
process.stderr.write(
  `${JSON.stringify({ coldStartMs: performance.now(), maxRssKb: process.resourceUsage().maxRSS })}\n`,
);
