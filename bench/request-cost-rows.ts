/**
 * Rows of `npm run bench` on the fixed cost of a request: CPU time per request against the least-work server, and
 * small real models over HTTP against their own `session.run` (issue 18, item 1).
 */
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import * as ort from 'onnxruntime-node';
import { INFERENCE_HEADER_CONTENT_LENGTH } from '../lib/core/contract/headers.js';
import { UNIT_PRICES } from '../lib/core/cost/unit-prices.js';
import { publishVersion } from '../lib/publish/publish-version.js';
import { successMetricLines } from '../lib/serving/metrics/EmfServingMetrics.js';
import { lambdaSessionOptions } from '../lib/serving/session-options.js';
import { seededRandom } from '../lib/tools/seeded-random.js';
import { digitsMlpModel, MLP_FEATURES, SMALL_CONV_SHAPE, smallConvNetModel } from './models.js';
import { median, quick, type Row, ratioRow } from './row.js';
import { stackRegistry } from './stack-registry.js';

/** A server process the rows drive: where it listens and how much CPU it has used so far. */
export interface CpuServer {
  readonly port: number;
  /** User plus system CPU time of the process so far, in microseconds (its own `process.cpuUsage()`). */
  readonly cpuMicros: () => Promise<number>;
}

/** Requests counted per side and round of the CPU row. */
const CPU_REQUESTS = quick ? 10_000 : 40_000;

/** Sequential requests timed per side of the small-model rows. */
const SMALL_MODEL_REQUESTS = quick ? 150 : 600;

/**
 * CPU time per request (user + system, read by each server around a fixed number of requests) of the local stack
 * against the least-work server, both under 16 connections: the figure that holds on a busy machine, where a
 * throughput ratio falls with the CPU left over. Best of two alternating rounds per side.
 */
export async function cpuPerRequestRow(ours: CpuServer, least: CpuServer, body: string): Promise<Row> {
  const perRequest = async (server: CpuServer): Promise<number> => {
    const options = {
      url: `http://127.0.0.1:${server.port}/v2/models/iris/infer`,
      method: 'POST' as const,
      headers: { 'content-type': 'application/json' },
      body,
      connections: 16,
    };
    await autocannon({ ...options, amount: 2_000 });
    const before = await server.cpuMicros();
    const result = await autocannon({ ...options, amount: CPU_REQUESTS });
    const used = (await server.cpuMicros()) - before;
    if (result.non2xx > 0 || result.errors > 0)
      throw new Error(`CPU row on port ${server.port}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    return used / CPU_REQUESTS;
  };
  let oursUs = Number.POSITIVE_INFINITY;
  let leastUs = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 2; round++) {
    oursUs = Math.min(oursUs, await perRequest(ours));
    leastUs = Math.min(leastUs, await perRequest(least));
  }
  return ratioRow(
    'CPU per request, HTTP 16 connections',
    oursUs / leastUs,
    -1.5,
    `${oursUs.toFixed(0)} vs ${leastUs.toFixed(0)} us (least-work server)`,
  );
}

/** Where the local stack's store listens, to publish the rows' models into it. */
export interface StackStore {
  readonly s3Endpoint: string;
  readonly bucket: string;
}

/**
 * Small real models over HTTP through the local stack, one request at a time, against `session.run` of the same
 * input in this process (medians of alternating requests): a ~1 MB conv net on a text-line crop (binary tensor in,
 * JSON out), whose detail also gives the least-work server answering the same binary request (`startLeast`): the
 * floor HTTP sets on this machine; and a ~10 KB MLP (JSON), whose run is so short that a loopback HTTP exchange
 * alone takes longer, so its row compares with the least-work server over the same HTTP and shows the run's own
 * time beside.
 */
export async function smallModelRows(
  port: number,
  store: StackStore,
  startLeast: (modelUrl: string) => Promise<{ port: number; stop: () => void }>,
): Promise<Row[]> {
  const registry = stackRegistry(store);
  const random = seededRandom(21);
  const rows: Row[] = [];

  const conv = smallConvNetModel();
  const convVersion = (await publishVersion(registry, { name: 'cls', model: conv })).version;
  const pixels = Float32Array.from(
    { length: SMALL_CONV_SHAPE.reduce((a: number, b: number) => a * b, 1) },
    () => random(),
  );
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        {
          name: 'image',
          datatype: 'FP32',
          shape: SMALL_CONV_SHAPE,
          parameters: { binary_data_size: pixels.byteLength },
        },
      ],
    }),
  );
  const convBody = Buffer.concat([header, Buffer.from(pixels.buffer)]);
  const convSession = await ort.InferenceSession.create(conv, lambdaSessionOptions());
  const convFeeds = { image: new ort.Tensor('float32', pixels, [...SMALL_CONV_SHAPE]) };
  const convRow = await alternate(
    () =>
      post(`http://127.0.0.1:${port}/v2/models/cls/versions/${convVersion}/infer`, convBody, {
        'content-type': 'application/octet-stream',
        [INFERENCE_HEADER_CONTENT_LENGTH]: String(header.byteLength),
      }),
    () => timed(() => convSession.run(convFeeds)),
  );
  await convSession.release();
  // The floor of this row on this machine: the least-work server answering the same binary request over the same
  // loopback HTTP, so the detail tells what is HTTP's and what is sluice's.
  const convLeast = await startLeast(
    `${store.s3Endpoint}/${store.bucket}/models/cls/${convVersion}/model.onnx`,
  );
  let floor: { ours: number; reference: number };
  try {
    const binary = {
      'content-type': 'application/octet-stream',
      [INFERENCE_HEADER_CONTENT_LENGTH]: String(header.byteLength),
    };
    floor = await alternate(
      () => post(`http://127.0.0.1:${port}/v2/models/cls/versions/${convVersion}/infer`, convBody, binary),
      () => post(`http://127.0.0.1:${convLeast.port}/v2/models/cls/infer`, convBody, binary),
    );
  } finally {
    convLeast.stop();
  }
  rows.push(
    ratioRow(
      `small conv net ${(conv.byteLength / 1e6).toFixed(1)} MB, HTTP binary vs session.run`,
      convRow.ours / convRow.reference,
      -1.3,
      `${convRow.ours.toFixed(2)} vs ${convRow.reference.toFixed(2)} ms (median); against the least-work server over the same HTTP, alternated, ${floor.ours.toFixed(2)} vs ${floor.reference.toFixed(2)} ms (${(floor.ours / floor.reference).toFixed(2)}x; that floor is ${(floor.reference / convRow.reference).toFixed(2)}x session.run)`,
    ),
  );

  const mlp = digitsMlpModel();
  const mlpManifest = await publishVersion(registry, { name: 'digits', model: mlp });
  const values = Array.from({ length: MLP_FEATURES }, () => Math.fround(random()));
  const mlpBody = JSON.stringify({
    inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, MLP_FEATURES], data: values }],
  });
  const least = await startLeast(
    `${store.s3Endpoint}/${store.bucket}/models/digits/${mlpManifest.version}/model.onnx`,
  );
  try {
    const json = { 'content-type': 'application/json' };
    const mlpRow = await alternate(
      () =>
        post(
          `http://127.0.0.1:${port}/v2/models/digits/versions/${mlpManifest.version}/infer`,
          mlpBody,
          json,
        ),
      () => post(`http://127.0.0.1:${least.port}/v2/models/digits/infer`, mlpBody, json),
    );
    const mlpSession = await ort.InferenceSession.create(mlp, lambdaSessionOptions());
    const mlpFeeds = { pixels: new ort.Tensor('float32', Float32Array.from(values), [1, MLP_FEATURES]) };
    const runs: number[] = [];
    for (let run = 0; run < SMALL_MODEL_REQUESTS; run++)
      runs.push(await timed(() => mlpSession.run(mlpFeeds)));
    await mlpSession.release();
    rows.push(
      ratioRow(
        `digits MLP ${(mlp.byteLength / 1e3).toFixed(0)} KB, HTTP latency vs least-work server`,
        mlpRow.ours / mlpRow.reference,
        -1.3,
        `${(mlpRow.ours * 1000).toFixed(0)} vs ${(mlpRow.reference * 1000).toFixed(0)} us (median; session.run alone ${(median(runs) * 1000).toFixed(0)} us)`,
      ),
    );
  } finally {
    least.stop();
  }
  return rows;
}

/** Medians, in ms, of `ours` and `reference` called one after the other, after a warm-up of each. */
async function alternate(
  ours: () => Promise<number>,
  reference: () => Promise<number>,
): Promise<{ ours: number; reference: number }> {
  for (let warm = 0; warm < 20; warm++) {
    await ours();
    await reference();
  }
  const oursMs: number[] = [];
  const referenceMs: number[] = [];
  for (let run = 0; run < SMALL_MODEL_REQUESTS; run++) {
    oursMs.push(await ours());
    referenceMs.push(await reference());
  }
  return { ours: median(oursMs), reference: median(referenceMs) };
}

/** Milliseconds of one POST, its answer read whole; a non-200 answer is an error. */
async function post(url: string, body: string | Buffer, headers: Record<string, string>): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', body, headers });
  const answer = await response.arrayBuffer();
  if (response.status !== 200)
    throw new Error(`${url}: ${response.status} ${Buffer.from(answer).toString().slice(0, 300)}`);
  return performance.now() - started;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/**
 * Bytes of metric log a routed success writes on Lambda (its EMF document, with the FunctionVersion set and the
 * answered class; not the minute's first, which writes every count), against the document that wrote all six
 * inference metrics whatever their value (issue 19's lean metrics: zero counts of refusals and errors are left
 * out). Each byte is billed as log ingestion.
 */
export function logBytesRow(): Row {
  const { full, lean } = successMetricLines('0');
  const [leanBytes, fullBytes] = [Buffer.byteLength(lean), Buffer.byteLength(full)];
  const usdPerMillion = (bytes: number) => ((bytes * 1e6) / 1e9) * UNIT_PRICES.logIngestionGb.usd;
  return ratioRow(
    'metric log bytes per request (EMF, routed success)',
    leanBytes / fullBytes,
    -0.85,
    `${leanBytes} vs ${fullBytes} bytes (every metric written, as the minute's first line is); ${usdPerMillion(leanBytes).toFixed(3)} vs ${usdPerMillion(fullBytes).toFixed(3)} USD of log ingestion per million requests`,
  );
}
