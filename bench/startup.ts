/**
 * The startup rows alone (bench/startup-rows.ts), without the rest of `npm run bench`: `npx tsx bench/startup.ts`
 * (`BENCH_QUICK=1` for fewer runs; `BENCH_ROWS=cold,rss,ready` picks groups).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PublishExtrasSchema } from '../lib/core/manifest/ModelManifest.js';
import { LocalObjectStore } from '../lib/local/LocalObjectStore.js';
import { SAMPLE_MODELS } from '../lib/local/sample-models.js';
import { publishVersion } from '../lib/publish/publish-version.js';
import { ModelRegistry } from '../lib/storage/ModelRegistry.js';
import { functionEnv } from './function-env.js';
import type { Row } from './row.js';
import { coldStartRows, localStackReadyRow, servingRssRows } from './startup-rows.js';

const groups = new Set((process.env.BENCH_ROWS ?? 'cold,rss,ready').split(','));
const scratch = await mkdtemp(join(tmpdir(), 'sluice-startup-'));
const store = await LocalObjectStore.start({ directory: join(scratch, 's3'), port: 0 });
const rows: Row[] = [];
try {
  const [iris] = SAMPLE_MODELS;
  const registry = new ModelRegistry({ store: store.objects() });
  const extras = PublishExtrasSchema.parse(JSON.parse(await readFile(iris.extrasPath, 'utf8')));
  const manifest = await publishVersion(registry, { name: 'iris', model: iris.modelPath, extras });
  const env = {
    ...functionEnv(store, manifest, 'WARN'),
    BENCH_BODY: JSON.stringify({
      id: 'bench',
      inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [[5.1, 3.5, 1.4, 0.2]] }],
    }),
  };
  const bench = { env, registry, irisModelPath: iris.modelPath, scratch };
  if (groups.has('cold')) rows.push(...(await coldStartRows(bench)));
  if (groups.has('rss')) rows.push(...(await servingRssRows(bench)));
  if (groups.has('ready')) rows.push(await localStackReadyRow(bench));
} finally {
  await store.stop();
  await rm(scratch, { recursive: true, force: true });
}
for (const row of rows) {
  process.stdout.write(
    `${row.met ? 'met   ' : 'MISSED'}  ${row.name.padEnd(40)} ${row.ratio.toFixed(2).padStart(6)}  target ${row.target.padEnd(7)} ${row.detail}\n`,
  );
}
