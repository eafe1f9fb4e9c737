/**
 * `npm run bench`: sluice against references measured in the same run, as ratios with targets.
 * A missed target is printed as MISSED, never hidden; the exit code is 0 either way (this is a report).
 */
import { fork, spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Logger } from '@aws-lambda-powertools/logger';
import autocannon from 'autocannon';
import { App, AssetStaging } from 'aws-cdk-lib';
import * as ort from 'onnxruntime-node';
import { MAX_MODELS_PER_STACK } from '../lib/cdk/model-group.js';
import { SluiceStack } from '../lib/cdk/sluice-stack.js';
import { freshCliBundle } from '../lib/cli/cli-bundle.mjs';
import { parseDeployConfig } from '../lib/core/config/deploy-config.js';
import { buildProxyEvent } from '../lib/core/contract/proxy-event.js';
import { type PublishExtras, PublishExtrasSchema } from '../lib/core/manifest/ModelManifest.js';
import { planRollout } from '../lib/core/rollout/plan-rollout.js';
import { parseJson } from '../lib/core/tensor/parse-json.js';
import { LocalObjectStore } from '../lib/local/LocalObjectStore.js';
import { LocalStack } from '../lib/local/LocalStack.js';
import { readLocalStackInfo } from '../lib/local/local-home.js';
import { SAMPLE_MODELS } from '../lib/local/sample-models.js';
import { publishVersion } from '../lib/publish/publish-version.js';
import { readFunctionConfig } from '../lib/serving/function-config.js';
import { lambdaSessionOptions } from '../lib/serving/session-options.js';
import { ModelRegistry } from '../lib/storage/ModelRegistry.js';
import { seededRandom } from '../lib/tools/seeded-random.js';
import { batchRow } from './batch-rows.js';
import { BENCH_OUT, bundleLikeTheAsset } from './bundle.js';
import { encodingRows } from './encoding-rows.js';
import { functionEnv } from './function-env.js';
import { convNetModel, convNetRequest, IMAGE_SIDE } from './models.js';
import { referenceRows } from './reference-rows.js';
import { cpuPerRequestRow, logBytesRow, smallModelRows } from './request-cost-rows.js';
import { fastestMs, fmt, median, quick, type Row, ratioRow } from './row.js';
import { stackRegistry } from './stack-registry.js';
import { coldStartRows, localStackReadyRow, servingRssRows } from './startup-rows.js';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = BENCH_OUT;

/** Requests timed per side of the shadow rows. */
const SHADOW_REQUESTS = quick ? 500 : 2_000;
const IN_PROCESS_MS = quick ? 300 : 1000;
const HTTP_SECONDS = quick ? 2 : 8;
const IMAGE_RUNS = quick ? 4 : 10;
const SYNTH_ROUNDS = quick ? 1 : 2;
/** Runs of each side of the CLI rows (a process each). */
const CLI_RUNS = quick ? 7 : 21;

const rows: Row[] = [];
const home = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
const store = await LocalObjectStore.start({ directory: join(home, 's3'), port: 0 });
const silence = silenceStdout();
try {
  const iris = SAMPLE_MODELS.find((sample) => sample.name === 'iris');
  if (!iris) throw new Error('the iris sample is missing');
  const registry = new ModelRegistry({ store: store.objects() });
  const extras = PublishExtrasSchema.parse(JSON.parse(await readFile(iris.extrasPath, 'utf8')));
  const manifest = await publishVersion(registry, { name: 'iris', model: iris.modelPath, extras });
  const env = functionEnv(store, manifest, 'INFO');
  const modelBytes = await readFile(iris.modelPath);
  const single = v2Body(1);
  const batch = v2Body(256);

  // 1. In-process: API Gateway event in, result out, against JSON.parse + run + JSON.stringify.
  // The handler as it ships: bundled and minified like the function's asset (what Lambda runs), not the sources
  // through tsx, whose kept function names cost a defineProperty for every closure a request makes.
  await bundle();
  const { createPredictHandler } = (await import(
    pathToFileURL(join(outDir, 'predict-handler.mjs')).href
  )) as typeof import('../lib/serving/create-predict-handler.js');
  const predict = createPredictHandler(readFunctionConfig(env));
  await predict.warm;
  // The same session options as the handler's, so the ratio measures the pipeline, not the options.
  const reference = await ort.InferenceSession.create(modelBytes, lambdaSessionOptions());
  for (const [label, body, target] of [
    ['in-process handler, 1 row (4-feature classifier)', single, 0.8],
    ['in-process handler, 256-row batch', batch, 0.9],
  ] as const) {
    const event = buildProxyEvent({
      method: 'POST',
      path: '/v2/models/iris/infer',
      body,
      requestId: 'bench',
      requestTimeEpoch: Date.now(),
    });
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

  // 1a. The shadow phase: what a 10 % shadow adds to the client's latency, through the local stack's app.
  for (const row of await shadowRows(home, iris.modelPath, extras)) rows.push(row);

  // 1b. Output encoding and input parsing, in process, against JSON.stringify / JSON.parse.
  for (const row of encodingRows()) rows.push(row);
  rows.push(logBytesRow());
  rows.push(parsingRow());

  // 2. HTTP on loopback, 16 connections: the handler behind the API emulator vs a minimal node:http server.
  const modelUrl = `${store.endpoint}/${store.bucket}/models/iris/${manifest.version}/model.onnx`;
  const localHome = join(home, 'local-stack');
  const sluiceServer = await startServer(join(outDir, 'sluice-server.mjs'), [localHome], env);
  const localInfo = await readLocalStackInfo(localHome);
  if (!localInfo) throw new Error('the local stack did not record where it listens');
  await publishVersion(stackRegistry(localInfo), { name: 'iris', model: iris.modelPath, extras });
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
    rows.push(await cpuPerRequestRow(sluiceServer, minimalServer, single));
    for (const row of await smallModelRows(sluiceServer.port, localInfo, async (url) => {
      const server = await startServer(join(here, 'servers', 'minimal-server.mjs'), [url], env);
      return { port: server.port, stop: server.kill };
    }))
      rows.push(row);
    rows.push(await imageRow(sluiceServer.port, localInfo));
    for (const row of await referenceRows(sluiceServer.port, localInfo)) rows.push(row);
    rows.push(await batchRow(sluiceServer.port));
    rows.push(await threadsRow());
  } finally {
    sluiceServer.kill();
    minimalServer.kill();
  }

  // 3-4. Cold starts (iris, a ~100 MB model), peak RSS while serving, the local stack's start: bench/startup-rows.ts.
  const startup = {
    env: { ...env, BENCH_BODY: single },
    registry,
    irisModelPath: iris.modelPath,
    scratch: home,
  };
  for (const row of await coldStartRows(startup)) rows.push(row);
  for (const row of await servingRssRows(startup)) rows.push(row);
  rows.push(await localStackReadyRow(startup));
  // 5. The CLI's start: `sluice --version` against `node -e 0`, `sluice status --local` against a plain GET.
  for (const row of await cliRows(home, iris.modelPath, extras)) rows.push(row);
  // 6. cdk synth of 50 models, bundled, against a synth of one model.
  rows.push(await synthRow(home));
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
    `${row.met ? 'met   ' : 'MISSED'}  ${row.name.padEnd(56)} ${row.ratio.toFixed(2).padStart(6)}  target ${row.target.padEnd(7)} ${row.detail}\n`,
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

/** The bench's own servers and the in-process handler, bundled as the function's asset is. */
function bundle(): Promise<void> {
  return bundleLikeTheAsset({
    'sluice-server': join(here, 'servers', 'sluice-server.ts'),
    'predict-handler': join(here, '..', 'lib', 'serving', 'create-predict-handler.ts'),
  });
}

interface ServerProcess {
  readonly port: number;
  /** User plus system CPU time the process has used so far, in microseconds. */
  readonly cpuMicros: () => Promise<number>;
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
    cpuMicros: () =>
      new Promise((resolve) => {
        child.once('message', (message: { cpuMicros: number }) => resolve(message.cpuMicros));
        child.send('cpu');
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

/** Input parsing of a large numeric V2 body (just under 6 MB): parseJson against JSON.parse. */
function parsingRow(): Row {
  const random = seededRandom(5);
  const values = Array.from({ length: 280_000 }, () => Math.fround(random()));
  const text = JSON.stringify({
    inputs: [{ name: 'x', datatype: 'FP32', shape: [values.length], data: values }],
  });
  const runs = quick ? 3 : 7;
  let ours = Number.POSITIVE_INFINITY;
  let reference = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 2; round++) {
    ours = Math.min(
      ours,
      fastestMs(() => parseJson(text), runs),
    );
    reference = Math.min(
      reference,
      fastestMs(() => JSON.parse(text), runs),
    );
  }
  return ratioRow(
    `input parsing, ${mb(text.length / 1024)} MB numeric body`,
    ours / reference,
    -1.2,
    `${ours.toFixed(1)} vs ${reference.toFixed(1)} ms (JSON.parse)`,
  );
}

/**
 * The image-sized conv net over HTTP with binary tensors (4.9 MB in, 1.6 MB out) through the local stack, against
 * raw `session.run` on the same input in this process. Medians of alternating blocks.
 */
async function imageRow(port: number, info: { s3Endpoint: string; bucket: string }): Promise<Row> {
  const model = convNetModel();
  const manifest = await publishVersion(stackRegistry(info), { name: 'image', model });
  const { pixels, body, headers } = convNetRequest();
  const url = `http://127.0.0.1:${port}/v2/models/image/versions/${manifest.version}/infer`;
  const roundTrip = async (): Promise<number> => {
    const started = performance.now();
    const response = await fetch(url, {
      method: 'POST',
      body,
      headers,
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    if (response.status !== 200)
      throw new Error(`image request: ${response.status} ${bytes.toString().slice(0, 300)}`);
    return performance.now() - started;
  };
  const session = await ort.InferenceSession.create(model, lambdaSessionOptions());
  const feeds = { image: new ort.Tensor('float32', pixels, [1, 3, IMAGE_SIDE, IMAGE_SIDE]) };
  const raw = async (): Promise<number> => {
    const started = performance.now();
    await session.run(feeds);
    return performance.now() - started;
  };
  await roundTrip();
  await raw();
  const ours: number[] = [];
  const reference: number[] = [];
  for (let run = 0; run < IMAGE_RUNS; run++) {
    ours.push(await roundTrip());
    reference.push(await raw());
  }
  await session.release();
  const oursMs = median(ours);
  const rawMs = median(reference);
  return ratioRow(
    `conv net 1x3x${IMAGE_SIDE}x${IMAGE_SIDE}, HTTP binary vs session.run`,
    oursMs / rawMs,
    -1.3,
    `${oursMs.toFixed(0)} vs ${rawMs.toFixed(0)} ms (median)`,
  );
}

/**
 * What intra-op threads buy on the conv net: one thread (what `lambdaThreads` gives a function below 1,769 MB,
 * where Lambda's CPU credits pay for less than one vCPU although it shows two) against every CPU of this machine
 * (unthrottled). A figure, not a target: on Lambda below 1,769 MB the second thread only contends for the credits
 * the first one already uses up.
 */
async function threadsRow(): Promise<Row> {
  const model = convNetModel();
  const pixels = new Float32Array(3 * IMAGE_SIDE * IMAGE_SIDE).fill(0.5);
  const cpus = availableParallelism();
  const timed = async (threads: number): Promise<number> => {
    const session = await ort.InferenceSession.create(model, lambdaSessionOptions(threads));
    const feeds = { image: new ort.Tensor('float32', pixels, [1, 3, IMAGE_SIDE, IMAGE_SIDE]) };
    await session.run(feeds);
    const runs: number[] = [];
    for (let run = 0; run < IMAGE_RUNS; run++) {
      const started = performance.now();
      await session.run(feeds);
      runs.push(performance.now() - started);
    }
    await session.release();
    return median(runs);
  };
  const one = await timed(1);
  const all = await timed(cpus);
  return {
    name: `conv net session.run, 1 thread (below 1,769 MB) vs ${cpus} (this machine)`,
    ratio: one / all,
    target: 'figure',
    met: true,
    detail: `${one.toFixed(0)} vs ${all.toFixed(0)} ms (median); on Lambda the extra threads need the memory to pay for them`,
  };
}

/**
 * The client latency a shadow phase adds: the local stack (in process, through its app, as it serves) answering
 * the same single-row requests of a model in a 10 % shadow phase and of one without, alternating; p50 and p99 of
 * each, and the resident memory the candidate's second session takes. The candidate's run starts once a client's
 * answer is ready and runs beside the next requests, so what it adds is the CPU they share; a Lambda shadow build
 * that compares before answering would add the candidate's whole run to a shadowed request instead.
 */
async function shadowRows(scratch: string, modelPath: string, extras: PublishExtras): Promise<Row[]> {
  const stack = await LocalStack.start({
    home: join(scratch, 'shadow-stack'),
    port: 0,
    publishSamples: false,
    driveEveryMs: false,
    logger: new Logger({ serviceName: 'bench', logLevel: 'SILENT' }),
  });
  try {
    for (const model of ['plain', 'shadowed']) {
      await publishVersion(stack.registry, { name: model, model: modelPath, extras });
      await stack
        .rolloutEngine('bench')
        .deploy(model, { version: 1, plan: planRollout({ strategy: 'all-at-once' }) });
    }
    await publishVersion(stack.registry, { name: 'shadowed', model: modelPath, extras });
    const before = process.memoryUsage.rss();
    await stack.rolloutEngine('bench').deploy('shadowed', {
      version: 2,
      plan: planRollout({ strategy: 'canary', shadowPercent: 10 }),
    });
    const candidateMemory = process.memoryUsage.rss() - before;
    const body = v2Body(1);
    const event = (model: string) =>
      buildProxyEvent({
        method: 'POST',
        path: `/v2/models/${model}/infer`,
        body,
        requestId: 'bench',
        requestTimeEpoch: 0,
      });
    const latencies = { plain: [] as number[], shadowed: [] as number[] };
    for (let round = 0; round < SHADOW_REQUESTS; round++) {
      for (const model of ['plain', 'shadowed'] as const) {
        const started = performance.now();
        const result = await stack.app.handle(event(model));
        latencies[model].push(performance.now() - started);
        if (result.statusCode !== 200) throw new Error(result.body);
      }
    }
    const quantile = (values: number[], share: number): number =>
      [...values].sort((a, b) => a - b)[
        Math.min(values.length - 1, Math.floor(share * values.length))
      ] as number;
    const p50 = [quantile(latencies.shadowed, 0.5), quantile(latencies.plain, 0.5)] as const;
    const p99 = [quantile(latencies.shadowed, 0.99), quantile(latencies.plain, 0.99)] as const;
    const us = (ms: number) => `${(ms * 1000).toFixed(0)} us`;
    return [
      ratioRow(
        'shadow phase (10 %), client latency p50 vs no shadow',
        p50[0] / p50[1],
        -1.2,
        `${us(p50[0])} vs ${us(p50[1])}`,
      ),
      ratioRow(
        'shadow phase (10 %), client latency p99 vs no shadow',
        p99[0] / p99[1],
        -2.5,
        `${us(p99[0])} vs ${us(p99[1])}`,
      ),
      {
        name: 'shadow phase: resident memory of the candidate’s session',
        ratio: candidateMemory / (1024 * 1024),
        target: 'figure',
        met: true,
        detail: `${mb(candidateMemory / 1024)} MB more while both versions are loaded (iris)`,
      },
    ];
  } finally {
    await stack.stop();
  }
}

/** Milliseconds from spawning `node ARGS` to its exit; a failed run throws with its output. */
async function processMs(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: join(here, '..'),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const took = performance.now() - started;
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited ${code}: ${output}`);
  return took;
}

/**
 * The CLI's start, as `npx sluice` runs it (bin/sluice.js: the prebuilt bundle, checked fresh against its sources
 * first), with the same Node as this run, alternating with each reference, medians:
 * - `sluice --version` against `node -e 0`: what the CLI adds to a bare Node start;
 * - `sluice status iris --local` against a plain node process that reads where the stack listens and GETs the same
 *   two control routes (the rollout's status, the observed traffic) from the same local stack, and prints them:
 *   what the CLI adds to the same I/O. The stack runs in this process, with iris deployed.
 * And a figure: a build of the bundle from scratch, what the first run after a source change waits for.
 */
async function cliRows(scratch: string, modelPath: string, extras: PublishExtras): Promise<Row[]> {
  await freshCliBundle();
  const cacheDir = join(scratch, 'cli-build');
  const buildStarted = performance.now();
  await freshCliBundle({ cacheDir });
  const buildMs = performance.now() - buildStarted;
  const stack = await LocalStack.start({
    home: join(scratch, 'cli-stack'),
    port: 0,
    publishSamples: false,
    driveEveryMs: false,
    logger: new Logger({ serviceName: 'bench', logLevel: 'SILENT' }),
  });
  try {
    await publishVersion(stack.registry, { name: 'iris', model: modelPath, extras });
    await stack
      .rolloutEngine('bench')
      .deploy('iris', { version: 1, plan: planRollout({ strategy: 'all-at-once' }) });
    const env = { ...process.env, SLUICE_HOME: join(scratch, 'cli-stack') };
    const pairs: [string, readonly string[], readonly string[], number, string][] = [
      ['sluice --version vs node -e 0', ['bin/sluice.js', '--version'], ['-e', '0'], -2, 'node -e 0'],
      [
        'sluice status --local vs a plain GET of the same routes',
        ['bin/sluice.js', 'status', 'iris', '--local'],
        [join(here, 'servers', 'status-reference.mjs'), 'iris'],
        -4,
        'node fetch of /_sluice/rollouts/iris and /_sluice/traffic',
      ],
    ];
    const result: Row[] = [];
    for (const [name, ours, reference, target, what] of pairs) {
      await processMs(ours, env);
      await processMs(reference, env);
      const oursMs: number[] = [];
      const referenceMs: number[] = [];
      for (let run = 0; run < CLI_RUNS; run++) {
        oursMs.push(await processMs(ours, env));
        referenceMs.push(await processMs(reference, env));
      }
      const a = median(oursMs);
      const b = median(referenceMs);
      result.push(ratioRow(name, a / b, target, `${a.toFixed(0)} vs ${b.toFixed(0)} ms (median; ${what})`));
    }
    result.push({
      name: 'sluice CLI: build of the bundle from scratch (esbuild)',
      ratio: buildMs / 1000,
      target: 'figure',
      met: true,
      detail: `${buildMs.toFixed(0)} ms: the first run after a source change waits this long, later runs do not`,
    });
    return result;
  } finally {
    await stack.stop();
  }
}

/**
 * A bundled `cdk synth` of 50 models (the longest names, 20 per stack: the main one and two nested groups) against
 * one of a single model. Every function of an architecture shares one predict asset, so the 49 more models should
 * add their constructs and templates, a fraction of bundling; an asset per model would cost 50 bundles. Each synth
 * bundles afresh (CDK's in-process asset cache cleared), after one untimed synth that loads the modules; alternated,
 * best of each.
 */
async function synthRow(scratch: string): Promise<Row> {
  let runs = 0;
  const synthMs = async (count: number): Promise<number> => {
    const config = parseDeployConfig(
      {
        models: Array.from({ length: count }, (_, index) => ({
          name: `model-${String(index).padStart(2, '0')}-`.padEnd(48, 'x'),
          version: 1,
          sha256: 'a'.repeat(64),
          ...(index < MAX_MODELS_PER_STACK ? {} : { group: `g${Math.floor(index / MAX_MODELS_PER_STACK)}` }),
        })),
      },
      `${count} models`,
    );
    const outdir = join(scratch, `synth-${runs++}`);
    AssetStaging.clearAssetHashCache();
    const started = performance.now();
    const app = new App({ outdir });
    new SluiceStack(app, 'Bench', { config, env: { account: '123456789012', region: 'eu-west-1' } });
    app.synth();
    const took = performance.now() - started;
    await rm(outdir, { recursive: true, force: true });
    return took;
  };
  await synthMs(1);
  let fifty = Number.POSITIVE_INFINITY;
  let one = Number.POSITIVE_INFINITY;
  for (let round = 0; round < SYNTH_ROUNDS; round++) {
    fifty = Math.min(fifty, await synthMs(50));
    one = Math.min(one, await synthMs(1));
  }
  return ratioRow(
    'cdk synth, 50 models vs 1 (bundled)',
    fifty / one,
    -5,
    `${fifty.toFixed(0)} vs ${one.toFixed(0)} ms (one predict asset for all)`,
  );
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
