/**
 * `npx tsx bench/profile.ts http|image`: a CPU profile of the local stack under one of the bench's loads, read per
 * request, so the profile figures the README quotes can be made again. `http` is the 16-connection row (single-row
 * iris requests, `PROFILE_SECONDS`, default 6); `image` the conv net 1x3x640x640 row (binary tensors, `PROFILE_RUNS`
 * requests, default 10). The server is bundled as the asset is but unminified, so functions keep their names.
 * Prints CPU per request, the functions and files that take most of it (self time), and where the profile is (open
 * it in Chrome's DevTools for the call tree). A figure for reading, not a row: nothing is compared or targeted.
 */
import { fork } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { PublishExtrasSchema } from '../lib/core/manifest/ModelManifest.js';
import { readLocalStackInfo } from '../lib/local/local-home.js';
import { SAMPLE_MODELS } from '../lib/local/sample-models.js';
import { publishVersion } from '../lib/publish/publish-version.js';
import { BENCH_OUT, bundleLikeTheAsset } from './bundle.js';
import { convNetModel, convNetRequest } from './models.js';
import { stackRegistry } from './stack-registry.js';

/** Lines of each table printed. */
const TOP = 25;

/** What V8 writes for `--cpu-prof`: call-tree nodes, and which node each sample was in and how long after the last. */
interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const mode = process.argv[2];
if (mode !== 'http' && mode !== 'image') throw new Error('usage: npx tsx bench/profile.ts http|image');

await bundleLikeTheAsset(
  { 'profile-sluice-server': join(import.meta.dirname, 'servers', 'sluice-server.ts') },
  { minify: false },
);
const home = await mkdtemp(join(tmpdir(), 'sluice-profile-'));
const profiles = join(home, 'profiles');
const server = fork(join(BENCH_OUT, 'profile-sluice-server.mjs'), [home], {
  execArgv: ['--cpu-prof', `--cpu-prof-dir=${profiles}`],
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  env: { ...process.env, POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'INFO' },
});
await new Promise((resolve) => server.once('message', resolve));
const info = await readLocalStackInfo(home);
if (!info) throw new Error('the local stack did not record where it listens');
const { apiUrl } = info;
const registry = stackRegistry(info);
const cpuMicros = (): Promise<number> =>
  new Promise((resolve) => {
    server.once('message', (message: { cpuMicros: number }) => resolve(message.cpuMicros));
    server.send('cpu');
  });

const load = mode === 'http' ? await httpLoad() : await imageLoad();
const warmUp = await load();
const cpuBefore = await cpuMicros();
const requests = await load();
const cpuPerRequest = ((await cpuMicros()) - cpuBefore) / requests;
const exited = new Promise((resolve) => server.once('exit', resolve));
server.send('exit');
await exited;
const [file] = (await readdir(profiles)).filter((name) => name.endsWith('.cpuprofile'));
if (!file) throw new Error(`no profile was written to ${profiles}`);
const profile = JSON.parse(await readFile(join(profiles, file), 'utf8')) as CpuProfile;
// The profile spans the whole process (its start, the warm-up, the load): its figures are divided by every request
// it saw, so what is done once (the start, the model's load) shows as a small share of each.
const seen = warmUp + requests;
console.log(`${mode}: ${requests} requests, ${cpuPerRequest.toFixed(0)} us CPU each (profiling included)`);
printTable('self time by function, us per request', selfTime(profile, frameName), seen);
printTable('self time by file, us per request', selfTime(profile, fileName), seen);
console.log(`profile: ${join(profiles, file)}`);

/** Single-row iris requests over 16 connections; answers how many it made. */
async function httpLoad(): Promise<() => Promise<number>> {
  const iris = SAMPLE_MODELS.find((sample) => sample.name === 'iris');
  if (!iris) throw new Error('the iris sample is missing');
  const extras = PublishExtrasSchema.parse(JSON.parse(await readFile(iris.extrasPath, 'utf8')));
  await publishVersion(registry, { name: 'iris', model: iris.modelPath, extras });
  const seconds = Number(process.env.PROFILE_SECONDS ?? 6);
  const options = {
    url: `${apiUrl}/v2/models/iris/infer`,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [[5.1, 3.5, 1.4, 0.2]] }],
    }),
    connections: 16,
  };
  let warm = false;
  return async () => {
    const result = await autocannon({ ...options, duration: warm ? seconds : 1 });
    warm = true;
    if (result.non2xx > 0 || result.errors > 0)
      throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);
    return result.requests.total;
  };
}

/** Binary conv net requests (4.9 MB in, 1.6 MB out), one at a time; answers how many it made. */
async function imageLoad(): Promise<() => Promise<number>> {
  const manifest = await publishVersion(registry, { name: 'image', model: convNetModel() });
  const { body, headers } = convNetRequest();
  const url = `${apiUrl}/v2/models/image/versions/${manifest.version}/infer`;
  const runs = Number(process.env.PROFILE_RUNS ?? 10);
  let warm = false;
  return async () => {
    const count = warm ? runs : 1;
    warm = true;
    for (let run = 0; run < count; run++) {
      const response = await fetch(url, {
        method: 'POST',
        body,
        headers,
      });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`image request: ${response.status}`);
    }
    return count;
  };
}

/** Microseconds of samples whose own frame (not its callers) falls under each key. */
function selfTime(
  { nodes, samples, timeDeltas }: CpuProfile,
  keyOf: (frame: CpuProfile['nodes'][number]['callFrame']) => string,
): Map<string, number> {
  const frames = new Map(nodes.map((node) => [node.id, node.callFrame]));
  const totals = new Map<string, number>();
  for (const [index, id] of samples.entries()) {
    const frame = frames.get(id);
    if (!frame) continue;
    const key = keyOf(frame);
    totals.set(key, (totals.get(key) ?? 0) + (timeDeltas[index] ?? 0));
  }
  return totals;
}

function frameName(frame: CpuProfile['nodes'][number]['callFrame']): string {
  if (frame.url === '') return frame.functionName;
  return `${frame.functionName || '(anonymous)'} ${fileName(frame)}:${frame.lineNumber + 1}`;
}

/** A frame's file, shortened (Node's own modules as `node:`, V8's pseudo-frames such as `(idle)` by name). */
function fileName(frame: CpuProfile['nodes'][number]['callFrame']): string {
  if (frame.url === '') return frame.functionName;
  if (frame.url.startsWith('node:')) return 'node:*';
  return frame.url.split('/').slice(-2).join('/');
}

function printTable(title: string, totals: ReadonlyMap<string, number>, requests: number): void {
  console.log(`\n${title}`);
  for (const [key, micros] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, TOP))
    console.log(`${(micros / requests).toFixed(2).padStart(10)}  ${key}`);
}
