/** What several rows of `npm run bench` share: the bench's own processes, bundled as the function's asset is. */
import { join } from 'node:path';
import { build } from 'esbuild';
import { FUNCTION_BUNDLE_OPTIONS } from '../lib/cdk/private/function-code.js';

/** Where the bundles go (git-ignored). */
export const BENCH_OUT = join(import.meta.dirname, '.out');

/**
 * Bundles `entryPoints` (name -> source) into {@link BENCH_OUT} as `NAME.mjs` (and the chunks they share), with the
 * options the functions' assets are built with (FUNCTION_BUNDLE_OPTIONS), onnxruntime-node external, so what the
 * rows measure is what ships.
 *
 * @example
 * await bundleLikeTheAsset({ 'sluice-server': join(here, 'servers', 'sluice-server.ts') });
 */
export async function bundleLikeTheAsset(
  entryPoints: Readonly<Record<string, string>>,
  options: {
    /** False keeps the functions' names, for a CPU profile to be read by them. @default true, as the asset */
    readonly minify?: boolean;
  } = {},
): Promise<void> {
  await build({
    ...FUNCTION_BUNDLE_OPTIONS,
    minify: options.minify ?? FUNCTION_BUNDLE_OPTIONS.minify,
    entryPoints: { ...entryPoints },
    outdir: BENCH_OUT,
    external: ['onnxruntime-node'],
    logLevel: 'error',
  });
}
