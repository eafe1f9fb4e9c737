/**
 * `npm run bench`: sluice against references measured in the same run, as ratios with targets.
 * A missed target is printed as MISSED, never hidden; the exit code is 0 either way (this is a report).
 */
import { fork } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { build } from 'esbuild';
import * as ort from 'onnxruntime-node';
import { readFunctionConfig } from '../lib/config/function-config.js';
import { lambdaSessionOptions } from '../lib/inference/session-options.js';
import { LocalObjectStore } from '../lib/local/LocalObjectStore.js';
import { readLocalStackInfo } from '../lib/local/local-home.js';
import { PublishExtrasSchema } from '../lib/registry/ModelManifest.js';
import { ModelRegistry } from '../lib/registry/ModelRegistry.js';
import { SAMPLE_MODELS } from '../lib/samples/sample-models.js';
import { createPredictHandler } from '../lib/serving/create-predict-handler.js';
import { createS3Client } from '../lib/serving/create-s3-client.js';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '.out');
const quick = process.env.BENCH_QUICK === '1';
const IN_PROCESS_MS = quick ? 300 : 1000;
const HTTP_SECONDS = quick ? 2 : 8;
const COLD_RUNS = quick ? 3 : 7;

interface Row {
  readonly name: string;
  readonly ratio: number;
  readonly target: string;
  readonly met: boolean;
  readonly detail: string;
}

const rows: Row[] = [];
const home = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
const store = await LocalObjectStore.start({ directory: join(home, 's3'), port: 0 });
const silence = silenceStdout();
try {
  const iris = SAMPLE_MODELS.find((sample) => sample.name === 'iris');
  if (!iris) throw new Error('the iris sample is missing');
  const registry = new ModelRegistry({ client: store.createClient(), bucket: store.bucket });
  const extras = PublishExtrasSchema.parse(JSON.parse(await readFile(iris.extrasPath, 'utf8')));
  const manifest = await registry.publish({ name: 'iris', model: iris.modelPath, extras });
  const env = {
    ...process.env,
    SLUICE_BUCKET: store.bucket,
    SLUICE_MODEL: 'iris',
    SLUICE_MODEL_VERSION: String(manifest.version),
    SLUICE_MODEL_SHA256: manifest.sha256,
    SLUICE_S3_ENDPOINT: store.endpoint,
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'INFO',
    BENCH_SESSION_OPTIONS: JSON.stringify(lambdaSessionOptions()),
  };
  const modelBytes = await readFile(iris.modelPath);
  const single = v2Body(1);
  const batch = v2Body(256);

  // 1. In-process: API Gateway event in, result out, against JSON.parse + run + JSON.stringify.
  const predict = createPredictHandler(readFunctionConfig(env));
  await predict.warm;
  // The same session options as the handler's, so the ratio measures the pipeline, not the options.
  const reference = await ort.InferenceSession.create(modelBytes, lambdaSessionOptions());
  for (const [label, body, target] of [
    ['in-process handler, 1 row (4-feature classifier)', single, 0.7],
    ['in-process handler, 256-row batch', batch, 0.9],
  ] as const) {
    const event = {
      httpMethod: 'POST',
      path: '/v2/models/iris/infer',
      body,
      headers: {},
      requestContext: { requestId: 'bench' },
    } as never;
    const handlerCall = async () => {
      const result = await predict.handler(event);
      if (result.statusCode !== 200) throw new Error(result.body);
    };
    const referenceCall = () => leastWork(reference, body);
    // Alternate the two sides and keep each one's best round, so drift on a shared machine hits both.
    let ours = 0;
    let least = 0;
    for (let round = 0; round < 3; round++) {
      ours = Math.max(ours, await throughput(handlerCall));
      least = Math.max(least, await throughput(referenceCall));
    }
    rows.push(ratioRow(label, ours / least, target, `${fmt(ours)} vs ${fmt(least)} req/s`));
  }

  // 2. HTTP on loopback, 16 connections: the handler behind the API emulator vs a minimal node:http server.
  await bundle();
  const modelUrl = `${store.endpoint}/${store.bucket}/models/iris/${manifest.version}/model.onnx`;
  const localHome = join(home, 'local-stack');
  const sluiceServer = await startServer(join(outDir, 'sluice-server.mjs'), [localHome], env);
  const localInfo = await readLocalStackInfo(localHome);
  if (!localInfo) throw new Error('the local stack did not record where it listens');
  await new ModelRegistry({
    client: createS3Client({ region: 'us-east-1', endpoint: localInfo.s3Endpoint }),
    bucket: localInfo.bucket,
  }).publish({ name: 'iris', model: iris.modelPath, extras });
  const minimalServer = await startServer(join(here, 'servers', 'minimal-server.mjs'), [modelUrl], env);
  try {
    const oursHttp = await load(sluiceServer.port, single);
    const leastHttp = await load(minimalServer.port, single);
    rows.push(
      ratioRow(
        'HTTP server, 16 connections',
        oursHttp / leastHttp,
        0.8,
        `${fmt(oursHttp)} vs ${fmt(leastHttp)} req/s`,
      ),
    );
    const oursRss = await sluiceServer.maxRssKb();
    const leastRss = await minimalServer.maxRssKb();
    rows.push(
      ratioRow('peak RSS while serving', oursRss / leastRss, -1.3, `${mb(oursRss)} vs ${mb(leastRss)} MB`),
    );
  } finally {
    sluiceServer.kill();
    minimalServer.kill();
  }

  // 3. Cold start: fresh process to first prediction, model from the embedded S3.
  const coldEnv = { ...env, BENCH_BODY: single };
  const oursCold: number[] = [];
  const leastCold: number[] = [];
  for (let run = 0; run < COLD_RUNS; run++) {
    oursCold.push(await coldStart(join(outDir, 'cold-start.mjs'), coldEnv));
    leastCold.push(await coldStart(join(here, 'servers', 'cold-start-reference.mjs'), coldEnv));
  }
  const oursMedian = median(oursCold);
  const leastMedian = median(leastCold);
  rows.push(
    ratioRow(
      'cold start (median)',
      oursMedian / leastMedian,
      -1.3,
      `${oursMedian.toFixed(0)} vs ${leastMedian.toFixed(0)} ms`,
    ),
  );
  await predict.engine.close();
} finally {
  silence.restore();
  await store.stop();
  await rm(home, { recursive: true, force: true });
}

process.stdout.write(
  `\nsluice benchmark (${quick ? 'quick' : 'full'}; ratios against references measured in this run)\n\n`,
);
for (const row of rows) {
  process.stdout.write(
    `${row.met ? 'met   ' : 'MISSED'}  ${row.name.padEnd(48)} ${row.ratio.toFixed(2).padStart(6)}  target ${row.target.padEnd(7)} ${row.detail}\n`,
  );
}
const missed = rows.filter((row) => !row.met).length;
process.stdout.write(`\n${rows.length - missed} of ${rows.length} targets met\n`);

function v2Body(rows: number): string {
  const data: number[][] = [];
  for (let row = 0; row < rows; row++)
    data.push([5.1 + (row % 7) * 0.2, 3.5 - (row % 3) * 0.3, 1.4 + (row % 5) * 0.9, 0.2 + (row % 4) * 0.5]);
  return JSON.stringify({
    id: 'bench',
    inputs: [{ name: 'features', shape: [rows, 4], datatype: 'FP32', data }],
  });
}

async function leastWork(session: ort.InferenceSession, body: string): Promise<void> {
  const request = JSON.parse(body);
  const input = request.inputs[0];
  const results = await session.run({
    [input.name]: new ort.Tensor('float32', Float32Array.from(input.data.flat()), input.shape),
  });
  JSON.stringify({
    outputs: Object.entries(results).map(([name, tensor]) => ({
      name,
      shape: tensor.dims,
      data: Array.from(tensor.data as ArrayLike<number>, Number),
    })),
  });
}

/** Calls per second of `work`, after a warm-up. */
async function throughput(work: () => Promise<void>): Promise<number> {
  for (let warm = 0; warm < 200; warm++) await work();
  let calls = 0;
  const started = performance.now();
  while (performance.now() - started < IN_PROCESS_MS) {
    for (let batch = 0; batch < 50; batch++) await work();
    calls += 50;
  }
  return (calls / (performance.now() - started)) * 1000;
}

async function bundle(): Promise<void> {
  await build({
    entryPoints: {
      'sluice-server': join(here, 'servers', 'sluice-server.ts'),
      'cold-start': join(here, 'servers', 'cold-start.ts'),
    },
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['onnxruntime-node'],
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
}

interface ServerProcess {
  readonly port: number;
  readonly maxRssKb: () => Promise<number>;
  readonly kill: () => void;
}

async function startServer(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const child = fork(script, args, { env, execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message: { ready?: number }) =>
      message.ready ? resolve(message.ready) : reject(new Error('no port')),
    );
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return {
    port,
    maxRssKb: () =>
      new Promise((resolve) => {
        child.once('message', (message: { maxRssKb: number }) => resolve(message.maxRssKb));
        child.send('rss');
      }),
    kill: () => child.kill(),
  };
}

async function load(port: number, body: string): Promise<number> {
  const options = {
    url: `http://127.0.0.1:${port}/v2/models/iris/infer`,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json' },
    body,
    connections: 16,
  };
  await autocannon({ ...options, duration: 1 });
  const result = await autocannon({ ...options, duration: HTTP_SECONDS });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`HTTP load on port ${port}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.requests.average;
}

async function coldStart(script: string, env: NodeJS.ProcessEnv): Promise<number> {
  const child = fork(script, [], { env, execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const line = stderr.split('\n').find((candidate) => candidate.startsWith('{"coldStartMs"'));
  if (code !== 0 || !line) throw new Error(`${script} failed (${code}): ${stderr}`);
  return (JSON.parse(line) as { coldStartMs: number }).coldStartMs;
}

/** A ratio row; a negative target means "at most", a positive one "at least". */
function ratioRow(name: string, ratio: number, target: number, detail: string): Row {
  const atMost = target < 0;
  const bound = Math.abs(target);
  return {
    name,
    ratio,
    target: `${atMost ? '<=' : '>='} ${bound}`,
    met: atMost ? ratio <= bound : ratio >= bound,
    detail,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function fmt(value: number): string {
  return value.toFixed(0);
}

function mb(kb: number): string {
  return (kb / 1024).toFixed(0);
}

/**
 * The handler prints EMF and log lines on stdout, as on Lambda; the report should not drown in them. They are
 * still written, synchronously to /dev/null (on Lambda stdout is a pipe, written synchronously), so their cost
 * stays in the measurement.
 */
function silenceStdout(): { restore: () => void } {
  const write = process.stdout.write.bind(process.stdout);
  const devNull = openSync('/dev/null', 'w');
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof chunk === 'string') writeSync(devNull, chunk);
    else writeSync(devNull, chunk);
    const callback = rest.find((item) => typeof item === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof process.stdout.write;
  return {
    restore: () => {
      process.stdout.write = write;
      closeSync(devNull);
    },
  };
}
