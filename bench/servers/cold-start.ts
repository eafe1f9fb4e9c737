// Cold start of the bundled predict handler: process start to first prediction, model from the embedded S3.
import { readFileSync } from 'node:fs';
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
process.stderr.write(`${JSON.stringify({ coldStartMs: performance.now(), maxRssKb: peakRssKb() })}\n`);

// This process's own peak RSS (VmHWM): resourceUsage().maxRSS would include the forking bench's, which Linux carries
// across fork and exec.
function peakRssKb(): number {
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
}
