// Naive sequential reference for a big model's cold start: load onnxruntime-node, read the whole object from S3,
// hash it, create the session, run once. What a straightforward loader does, one step after the other.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import * as ort from 'onnxruntime-node';

const client = new S3Client({
  region: 'us-east-1',
  endpoint: process.env.SLUICE_S3_ENDPOINT,
  forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
});
const key = `models/${process.env.SLUICE_MODEL}/${process.env.SLUICE_MODEL_VERSION}/model.onnx`;
const object = await client.send(new GetObjectCommand({ Bucket: process.env.SLUICE_BUCKET, Key: key }));
const bytes = await object.Body.transformToByteArray();
const sha256 = createHash('sha256').update(bytes).digest('hex');
if (sha256 !== process.env.SLUICE_MODEL_SHA256) throw new Error('sha256 mismatch');
const session = await ort.InferenceSession.create(
  bytes,
  JSON.parse(process.env.BENCH_SESSION_OPTIONS ?? '{}'),
);
const body = JSON.parse(process.env.BENCH_BODY);
const input = body.inputs[0];
const results = await session.run({
  [input.name]: new ort.Tensor('float32', Float32Array.from(input.data.flat()), input.shape),
});
JSON.stringify(Object.keys(results));
process.stderr.write(`${JSON.stringify({ coldStartMs: performance.now(), maxRssKb: peakRssKb() })}\n`);

// This process's own peak RSS (VmHWM): resourceUsage().maxRSS would include the forking bench's, which Linux carries
// across fork and exec.
function peakRssKb() {
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
}
