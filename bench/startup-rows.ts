/**
 * The startup rows of `npm run bench` (issue 18, items 3 and 4): the predict function's cold start (iris, and a
 * ~100 MB model against a naive sequential loader), peak RSS while serving, and the local stack's start to its
 * first answer. Every side runs in a fresh process, alternating with its reference, and the rows report medians.
 * Alone: `npx tsx bench/startup.ts`.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { readLocalStackInfo } from '../lib/local/local-home.js';
import { publishVersion } from '../lib/publish/publish-version.js';
import type { ModelRegistry } from '../lib/storage/ModelRegistry.js';
import { BENCH_OUT, bundleLikeTheAsset } from './bundle.js';
import { BIG_MODEL_WIDTH, bigModel } from './models.js';
import { median, quick, type Row, ratioRow } from './row.js';
import { stackRegistry } from './stack-registry.js';

const here = import.meta.dirname;
/** Beside run.ts's bundles (a bundle finds package.json two folders up, as from lib/local), with names of their own. */
const outDir = BENCH_OUT;
const root = join(here, '..');

/** Runs of each side of the iris cold start (a process each). */
const COLD_RUNS = quick ? 3 : 9;
/** Runs of each side of the big model's cold start. */
const BIG_COLD_RUNS = quick ? 2 : 5;
/** Starts of the local stack (after one that publishes the sample) and of its reference. */
const READY_RUNS = quick ? 3 : 7;
/** Seconds of HTTP load before a serving process's peak RSS is read. */
const RSS_LOAD_SECONDS = quick ? 2 : 5;
/** The local stack's start goal (issue 18, item 3), process start to the sample's first answer, warm disk. */
const READY_GOAL_MS = 2_000;

/** What the startup rows need from the run that calls them. */
export interface StartupBench {
  /**
   * The predict function's environment for iris, published in the orchestrator's store (`SLUICE_*`), with
   * `BENCH_SESSION_OPTIONS` (the handler's session options, for the references) and `BENCH_BODY` (one V2 row).
   */
  readonly env: NodeJS.ProcessEnv;
  /** The orchestrator's registry: the big model is published there. */
  readonly registry: ModelRegistry;
  /** The iris sample's ONNX file. */
  readonly irisModelPath: string;
  /** A scratch folder the caller removes. */
  readonly scratch: string;
}

/**
 * Cold start, fresh process to first prediction, model from the orchestrator's embedded S3 (another process, as S3
 * is): iris against the least a loader does (SDK GetObject, create, run), and a ~100 MB model against a naive
 * sequential loader (GetObject, sha256, create, run) in time and peak RSS.
 */
export async function coldStartRows(bench: StartupBench): Promise<Row[]> {
  await bundle();
  const ours = join(outDir, 'startup-cold-start.mjs');
  const oursIris: number[] = [];
  const leastIris: number[] = [];
  for (let run = 0; run < COLD_RUNS; run++) {
    oursIris.push((await coldStart(ours, bench.env)).coldStartMs);
    leastIris.push(
      (await coldStart(join(here, 'servers', 'cold-start-reference.mjs'), bench.env)).coldStartMs,
    );
  }
  const big = bigModel();
  const bigManifest = await publishVersion(bench.registry, { name: 'big', model: big });
  const bigEnv = {
    ...bench.env,
    SLUICE_MODEL: 'big',
    SLUICE_MODEL_VERSION: String(bigManifest.version),
    SLUICE_MODEL_SHA256: bigManifest.sha256,
    // The function's cache must hold the model: Lambda's budget is 40 % of memory; here, room for one session.
    SLUICE_CACHE_BYTES: String(2 * 1024 * 1024 * 1024),
    BENCH_BODY: JSON.stringify({
      inputs: [
        {
          name: 'x',
          datatype: 'FP32',
          shape: [1, BIG_MODEL_WIDTH],
          data: new Array(BIG_MODEL_WIDTH).fill(0.5),
        },
      ],
    }),
  };
  const oursBig: ColdStart[] = [];
  const naiveBig: ColdStart[] = [];
  for (let run = 0; run < BIG_COLD_RUNS; run++) {
    oursBig.push(await coldStart(ours, bigEnv));
    naiveBig.push(await coldStart(join(here, 'servers', 'cold-start-naive.mjs'), bigEnv));
  }
  const size = mb(big.byteLength / 1024);
  const oursIrisMs = median(oursIris);
  const leastIrisMs = median(leastIris);
  const oursBigMs = median(oursBig.map((figures) => figures.coldStartMs));
  const naiveBigMs = median(naiveBig.map((figures) => figures.coldStartMs));
  const oursBigRss = median(oursBig.map((figures) => figures.maxRssKb ?? Number.NaN));
  const naiveBigRss = median(naiveBig.map((figures) => figures.maxRssKb ?? Number.NaN));
  return [
    ratioRow(
      'cold start (median)',
      oursIrisMs / leastIrisMs,
      -1.2,
      `${oursIrisMs.toFixed(0)} vs ${leastIrisMs.toFixed(0)} ms (reference: SDK GetObject, create, run)`,
    ),
    ratioRow(
      `cold start, ${size} MB model (median)`,
      oursBigMs / naiveBigMs,
      -0.9,
      `${oursBigMs.toFixed(0)} vs ${naiveBigMs.toFixed(0)} ms (naive: GetObject, sha256, create, run)`,
    ),
    ratioRow(
      `peak RSS, ${size} MB model`,
      oursBigRss / naiveBigRss,
      -1.3,
      `${mb(oursBigRss)} vs ${mb(naiveBigRss)} MB`,
    ),
  ];
}

/**
 * Peak RSS while serving iris under HTTP load (16 connections): the request pipeline behind the API emulator, its
 * model fetched from the orchestrator's store, against the least-work server. The embedded store is a separate
 * concern (S3 on AWS): the local stack with it, and the store alone, are measured too and named in the detail.
 */
export async function servingRssRows(bench: StartupBench): Promise<Row[]> {
  await bundle();
  const modelKey = `models/${bench.env.SLUICE_MODEL}/${bench.env.SLUICE_MODEL_VERSION}/model.onnx`;
  const modelUrl = `${bench.env.SLUICE_S3_ENDPOINT}/${bench.env.SLUICE_BUCKET}/${modelKey}`;
  const body = bench.env.BENCH_BODY ?? '';
  const bare = await servingPeakRss(join(here, 'servers', 'bare-node.mjs'), [], bench.env);
  const store = await servingPeakRss(
    join(outDir, 'startup-store-only.mjs'),
    [join(bench.scratch, 'store-only')],
    bench.env,
  );
  const ours = await servingPeakRss(join(outDir, 'startup-predict-server.mjs'), [], bench.env, body);
  const least = await servingPeakRss(
    join(here, 'servers', 'minimal-server.mjs'),
    [modelUrl],
    bench.env,
    body,
  );
  const stackHome = join(bench.scratch, 'rss-local-stack');
  const stack = await servingPeakRss(
    join(outDir, 'startup-sluice-server.mjs'),
    [stackHome],
    bench.env,
    body,
    async () => {
      const info = await readLocalStackInfo(stackHome);
      if (!info) throw new Error('the local stack did not record where it listens');
      const registry = stackRegistry(info);
      await publishVersion(registry, { name: 'iris', model: bench.irisModelPath });
    },
  );
  return [
    ratioRow(
      'peak RSS while serving',
      ours / least,
      -1.3,
      `${mb(ours)} vs ${mb(least)} MB (the pipeline behind the API emulator, store in another process, as S3 is); ` +
        `the local stack with its embedded store ${mb(stack)} MB, the store alone ${mb(store)} MB (a bare node ${mb(bare)})`,
    ),
  ];
}

/**
 * The local stack's start as `npm start` runs it (`tsx bin/local.ts`, data folder kept across starts, the sample
 * already published by a first start), process start to the sample's first answer, against a node process that
 * loads onnxruntime-node, creates the sample's session from its file and answers one request on node:http.
 */
export async function localStackReadyRow(bench: StartupBench): Promise<Row> {
  const env = { ...bench.env, PORT: '0', SLUICE_HOME: join(bench.scratch, 'ready-home') };
  const tsx = ['--import', 'tsx', join(root, 'bin', 'local.ts')];
  // The first start publishes the sample and fills tsx's cache: the disk is warm after it.
  await readyMs(tsx, env);
  const ours: number[] = [];
  const least: number[] = [];
  for (let run = 0; run < READY_RUNS; run++) {
    ours.push(await readyMs(tsx, env));
    least.push(await readyMs([join(here, 'servers', 'ready-reference.mjs'), bench.irisModelPath], env));
  }
  const oursMs = median(ours);
  const leastMs = median(least);
  return {
    name: 'local stack ready (ms)',
    ratio: oursMs / leastMs,
    target: `<= ${READY_GOAL_MS / 1000} s`,
    met: oursMs <= READY_GOAL_MS,
    detail:
      `${oursMs.toFixed(0)} vs ${leastMs.toFixed(0)} ms (npm start to the sample's first answer, warm disk; goal ` +
      `${READY_GOAL_MS / 1000} s; reference: load onnxruntime-node, create the session, answer on node:http)`,
  };
}

/** The startup rows' processes, built as the function's asset is. */
function bundle(): Promise<void> {
  return bundleLikeTheAsset({
    'startup-cold-start': join(here, 'servers', 'cold-start.ts'),
    'startup-predict-server': join(here, 'servers', 'predict-server.ts'),
    'startup-sluice-server': join(here, 'servers', 'sluice-server.ts'),
    'startup-store-only': join(here, 'servers', 'store-only.ts'),
  });
}

interface ColdStart {
  readonly coldStartMs: number;
  readonly maxRssKb?: number;
}

/** Runs a cold-start script, which prints `{"coldStartMs": ...}` on stderr once it has answered. */
async function coldStart(script: string, env: NodeJS.ProcessEnv): Promise<ColdStart> {
  const child = fork(script, [], { env, execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const line = stderr.split('\n').find((candidate) => candidate.startsWith('{"coldStartMs"'));
  if (code !== 0 || !line) throw new Error(`${script} failed (${code}): ${stderr}`);
  return JSON.parse(line) as ColdStart;
}

/**
 * Starts a server (it sends `{ ready: port }`), loads it with `body` on `/v2/models/iris/infer` when given (after
 * `prepare`), and returns its peak RSS in KB.
 */
async function servingPeakRss(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  body?: string,
  prepare?: () => Promise<void>,
): Promise<number> {
  const child = fork(script, args, { env, execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (message: { ready?: number }) =>
        message.ready ? resolve(message.ready) : reject(new Error('no port')),
      );
      child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    });
    await prepare?.();
    if (body !== undefined) {
      const result = await autocannon({
        url: `http://127.0.0.1:${port}/v2/models/iris/infer`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        connections: 16,
        duration: RSS_LOAD_SECONDS,
      });
      if (result.non2xx > 0 || result.errors > 0)
        throw new Error(`${script}: ${result.non2xx} non-2xx, ${result.errors} errors under load`);
    }
    return await peakRssKb(child.pid);
  } finally {
    await stop(child);
  }
}

/**
 * The peak RSS of a running process in KB: `VmHWM` of `/proc/PID/status`, the high-water mark of its own memory.
 * Not `process.resourceUsage().maxRSS` inside the child: Linux carries the maximum RSS across fork and exec, so a
 * child forked by this process reports at least this process's peak (measured: a bare node child of a 347 MB
 * parent reported 305 MB, its VmHWM 47 MB).
 */
async function peakRssKb(pid: number | undefined): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
  if (!kb) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(kb);
}

/** Milliseconds from spawning `node ARGS` to the answer of the sample's first prediction on the URL it prints. */
async function readyMs(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const found = /(?:local stack on|listening on) (http:\/\/[\d.:]+)/.exec(out);
        if (found?.[1]) resolve(found[1]);
      });
      child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${out}`)));
    });
    const response = await fetch(`${url}/models/iris/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2]] }),
    });
    await response.text();
    if (response.status !== 200) throw new Error(`${args.join(' ')} answered ${response.status}`);
    return performance.now() - started;
  } finally {
    await stop(child);
  }
}

/** SIGTERM, and the exit awaited: the local stack releases its data folder's lock on the way out. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

function mb(kb: number): string {
  return (kb / 1024).toFixed(0);
}
