/** What several rows of `npm run bench` share: the bench's own processes, bundled as the function's asset is. */
import { join } from 'node:path';
import { build } from 'esbuild';
import { builtinsByRequire } from '../lib/cdk/private/builtins-by-require.js';

/** Where the bundles go (git-ignored). */
export const BENCH_OUT = join(import.meta.dirname, '.out');

/**
 * Bundles `entryPoints` (name -> source) into {@link BENCH_OUT} as `NAME.mjs`, built as the predict function's asset
 * is (lib/cdk/private/function-code.ts): minified ESM, onnxruntime-node external, node:http(s) by require
 * (builtinsByRequire), so what the rows measure is what ships.
 *
 * @example
 * await bundleLikeTheAsset({ 'sluice-server': join(here, 'servers', 'sluice-server.ts') });
 */
export async function bundleLikeTheAsset(entryPoints: Readonly<Record<string, string>>): Promise<void> {
  await build({
    entryPoints: { ...entryPoints },
    outdir: BENCH_OUT,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    external: ['onnxruntime-node'],
    alias: builtinsByRequire(),
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
}
