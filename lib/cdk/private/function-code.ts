import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import {
  AssetHashType,
  type BundlingOptions,
  BundlingOutput,
  DockerImage,
  type ILocalBundling,
} from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { type BuildOptions, buildSync, type Metafile } from 'esbuild';
import * as z from 'zod';
import type { Architecture } from '../../core/config/deploy-config.js';
import { SluiceError } from '../../core/errors/SluiceError.js';
import { builtinsByRequire } from './builtins-by-require.js';
import { directorySize } from './directory-size.js';
import { environmentCredentials } from './environment-credentials.js';

/**
 * Largest unzipped function asset synth accepts: Lambda's limit is 250 MB, but the predict function
 * (45 MB of x86_64 onnxruntime) is kept near the 60 MB target for cold starts.
 */
export const MAX_FUNCTION_ASSET_BYTES = 60 * 1024 * 1024;

/**
 * Syntax level of the bundle: the oldest Node sluice supports (package.json `engines`). nodejs24.x
 * runs it unchanged, and the asset can be exercised on a developer's Node before deploying.
 */
export const BUNDLE_TARGET = 'node20';

/** The bundle's entry file (beside it, the chunks it imports): `.mjs` makes Lambda load it as ESM without a package.json beside it. */
export const BUNDLE_FILE = 'index.mjs';

/** {@link BUNDLE_FILE} without its extension, as esbuild names an entry point. */
const BUNDLE_NAME = basename(BUNDLE_FILE, '.mjs');

/** Image the CDK API requires beside local bundling; never pulled, as local bundling succeeds or throws. */
const UNUSED_BUNDLING_IMAGE = 'public.ecr.aws/sam/build-nodejs24.x';

/** The runtime package the function imports; it loads a native binding by a path relative to its own files, so it cannot be bundled. */
const ONNXRUNTIME_NODE = 'onnxruntime-node';

/** onnxruntime-node's JavaScript API, `require`d by it; shipped beside it rather than bundled so there is one copy of its classes. */
const ONNXRUNTIME_COMMON = 'onnxruntime-common';

/** Where onnxruntime-node's loader (dist/binding.js) looks for the Linux binding: `bin/napi-v6/linux/<process.arch>`. */
const ONNXRUNTIME_LINUX_BINARIES = 'bin/napi-v6/linux';

/** Node's `process.arch` on each Lambda architecture. */
const NODE_ARCH = { x86_64: 'x64', arm64: 'arm64' } as const satisfies Record<Architecture, string>;

/** The binding and the core library it links; CUDA and TensorRT provider libraries are left out: Lambda has no GPU. */
const ONNXRUNTIME_BINARY_FILE = /^(onnxruntime_binding\.node|libonnxruntime\.so(\.\d+)*)$/;

/** Files of a package needed at run time: JavaScript, package metadata, source maps; not type declarations. */
const RUNTIME_FILE = /^(?!.*\.d\.[cm]?ts(\.map)?$).*\.(js|cjs|mjs|json|js\.map)$/;

/** Defines `require` in the ESM bundle: bundled CommonJS dependencies call it for Node built-ins. */
const REQUIRE_SHIM =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/**
 * How esbuild builds every function's code (and `npm run bench` the processes it measures, so what it times is what
 * ships): minified ESM for Node, `require` defined for bundled CommonJS, node:http(s) by `require`, credentials from
 * the environment.
 */
export const FUNCTION_BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: BUNDLE_TARGET,
  minify: true,
  outExtension: { '.js': '.mjs' },
  // Packages' ES builds before their CommonJS ones, as the CDK's own ESM bundling is shown configured
  // (https://docs.aws.amazon.com/cdk/api/v2/python/aws_cdk.aws_lambda_nodejs/OutputFormat.html: "prefer ECMAScript
  // versions of dependencies"). Split, a CommonJS package loaded by import() becomes a chunk whose only export is
  // `default`, so `const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner')` read undefined; the ES
  // builds keep their names, and shake better (the predict bundle 868 -> 723 KB).
  mainFields: ['module', 'main'],
  // What a module loads by import() goes in a file of its own (with the modules only such files share), compiled
  // only when it is imported: the tracer, the request pipeline, batch scoring, the presigner. The predict
  // bundle was one 1.3 MB file, compiled whole at every cold start; what its cold start compiles is 0.51 MB now.
  splitting: true,
  banner: { js: REQUIRE_SHIM },
  // node:http(s) by `require` where a module initialises, not by hoisted ES imports (see builtinsByRequire); the
  // environment's credentials instead of the SDK's whole default chain (see environmentCredentials).
  alias: { ...builtinsByRequire(), ...environmentCredentials() },
} as const satisfies BuildOptions;

/** Raised at synth when a function cannot be bundled; the asset is never built another way (no Docker fallback). */
export class FunctionBundlingError extends SluiceError {}

/** Properties of {@link functionCode}. */
export interface FunctionCodeProps {
  /** Absolute path of the function's entry under `functions/`, an ESM module exporting `handler`. */
  readonly entry: string;
  /** The function's architecture: picks the onnxruntime binaries shipped. */
  readonly architecture: Architecture;
  /** Ship onnxruntime-node (only the Linux binaries of `architecture`) beside the bundle. */
  readonly includeOnnxRuntime: boolean;
}

/**
 * The code of a Node.js function: its entry bundled by esbuild on this machine into `index.mjs`
 * (handler `index.handler`), plus onnxruntime-node with only the Linux binaries of its architecture.
 * Never uses Docker; the asset hash is the hash of the output, so it changes exactly when the code does.
 *
 * @example
 * new lambda.Function(this, 'Function', {
 *   runtime: lambda.Runtime.NODEJS_24_X,
 *   handler: 'index.handler',
 *   code: functionCode({ entry: FunctionEntry.PREDICT, architecture: 'x86_64', includeOnnxRuntime: true }),
 * });
 */
export function functionCode(props: FunctionCodeProps): lambda.Code {
  if (!existsSync(props.entry)) {
    throw new FunctionBundlingError(
      `function entry ${props.entry} does not exist; pass the absolute path of a functions/*/index.ts`,
    );
  }
  const bundling: BundlingOptions = {
    image: DockerImage.fromRegistry(UNUSED_BUNDLING_IMAGE),
    local: new LocalFunctionBundling(props),
    outputType: BundlingOutput.NOT_ARCHIVED,
  };
  // The source directory only anchors the asset: the output hash covers everything bundled from elsewhere.
  return lambda.Code.fromAsset(dirname(props.entry), { assetHashType: AssetHashType.OUTPUT, bundling });
}

/**
 * esbuild and file copies in this process. Its fields are what CDK's asset cache keys on (it serialises
 * the bundling options), so two functions differing only in architecture never share an asset.
 */
class LocalFunctionBundling implements ILocalBundling {
  readonly entry: string;
  readonly architecture: Architecture;
  readonly includeOnnxRuntime: boolean;

  constructor(props: FunctionCodeProps) {
    this.entry = props.entry;
    this.architecture = props.architecture;
    this.includeOnnxRuntime = props.includeOnnxRuntime;
  }

  tryBundle(outputDir: string): boolean {
    const imports = bundleEntry(this.entry, outputDir);
    const missing = imports.filter(
      (name) => !isBuiltin(name) && !(this.includeOnnxRuntime && isOnnxRuntime(name)),
    );
    if (missing.length > 0) {
      throw new FunctionBundlingError(
        `${this.entry} imports ${missing.join(', ')} at run time, which the asset does not carry` +
          (missing.some(isOnnxRuntime)
            ? '; set includeOnnxRuntime: true'
            : '; bundle it or add it to the asset'),
      );
    }
    if (this.includeOnnxRuntime) copyOnnxRuntime(this.entry, NODE_ARCH[this.architecture], outputDir);
    const size = directorySize(outputDir);
    if (size > MAX_FUNCTION_ASSET_BYTES) {
      throw new FunctionBundlingError(
        `the ${this.architecture} asset of ${this.entry} is ${size} bytes unzipped, over MAX_FUNCTION_ASSET_BYTES (${MAX_FUNCTION_ASSET_BYTES}); ` +
          'look for a dependency that should be external or binaries of another platform',
      );
    }
    // Returning false would make CDK bundle in Docker, which sluice never does: failures above throw instead.
    return true;
  }
}

/** Bundles the entry into `outputDir/index.mjs` and the chunks it imports; returns the bare module names they still import. */
function bundleEntry(entry: string, outputDir: string): string[] {
  const anchor = dirname(entry);
  let metafile: Metafile;
  try {
    const result = buildSync({
      ...FUNCTION_BUNDLE_OPTIONS,
      entryPoints: { [BUNDLE_NAME]: entry },
      // Written by hand below: esbuild computes source map paths from here, so they do not depend on
      // where CDK stages the asset and two synths of the same code produce the same bytes (and hash).
      outdir: anchor,
      write: false,
      absWorkingDir: anchor,
      // Line numbers for stack traces (the function runs with --enable-source-maps) without shipping the sources.
      sourcemap: 'external',
      sourcesContent: false,
      legalComments: 'none',
      external: [ONNXRUNTIME_NODE, ONNXRUNTIME_COMMON],
      metafile: true,
      logLevel: 'silent',
    });
    for (const file of result.outputFiles) writeFileSync(join(outputDir, basename(file.path)), file.contents);
    metafile = result.metafile;
  } catch (error) {
    throw new FunctionBundlingError(`esbuild could not bundle ${entry}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const imports = Object.values(metafile.outputs).flatMap((output) => output.imports);
  return [...new Set(imports.filter((imported) => imported.external).map((imported) => imported.path))];
}

function isOnnxRuntime(name: string): boolean {
  return name === ONNXRUNTIME_NODE || name === ONNXRUNTIME_COMMON || name.startsWith(`${ONNXRUNTIME_NODE}/`);
}

/**
 * Copies onnxruntime-node (JavaScript and the Linux binaries of one architecture) and onnxruntime-common
 * (the CommonJS build onnxruntime-node `require`s) into `outputDir/node_modules`, as npm lays them out.
 */
function copyOnnxRuntime(entry: string, nodeArch: string, outputDir: string): void {
  const modules = join(outputDir, 'node_modules');
  const ortNode = resolvePackage(ONNXRUNTIME_NODE, entry);
  const binaries = join(ortNode.root, ONNXRUNTIME_LINUX_BINARIES, nodeArch);
  if (!existsSync(join(binaries, 'onnxruntime_binding.node'))) {
    throw new FunctionBundlingError(
      `${ONNXRUNTIME_NODE} at ${ortNode.root} has no Linux ${nodeArch} binding in ${binaries}; reinstall it (npm ci) on any platform: it ships every platform's binaries`,
    );
  }
  const ortNodeOut = join(modules, ONNXRUNTIME_NODE);
  copyPackageJson(ortNode.root, ortNodeOut);
  copyTree(
    dirname(ortNode.main),
    join(ortNodeOut, relative(ortNode.root, dirname(ortNode.main))),
    RUNTIME_FILE,
  );
  copyTree(binaries, join(ortNodeOut, ONNXRUNTIME_LINUX_BINARIES, nodeArch), ONNXRUNTIME_BINARY_FILE);

  const ortCommon = resolvePackage(ONNXRUNTIME_COMMON, ortNode.main);
  const ortCommonOut = join(modules, ONNXRUNTIME_COMMON);
  copyPackageJson(ortCommon.root, ortCommonOut);
  copyTree(
    dirname(ortCommon.main),
    join(ortCommonOut, relative(ortCommon.root, dirname(ortCommon.main))),
    RUNTIME_FILE,
  );
}

const PackageJsonSchema = z.object({ name: z.string() });

/**
 * Finds a package the way its importer does at run time (Node's CommonJS resolution, which is also what
 * the ESM loader does for a package without `exports`): its root folder and the file `require` loads.
 */
function resolvePackage(name: string, from: string): { root: string; main: string } {
  let main: string;
  try {
    main = createRequire(from).resolve(name);
  } catch (error) {
    throw new FunctionBundlingError(`cannot find ${name} from ${from}; run npm ci`, { cause: error });
  }
  // Walk up from the entry file to the package.json naming the package (dist/cjs has a nameless one).
  for (let dir = dirname(main); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const parsed = PackageJsonSchema.safeParse(JSON.parse(readFileSync(manifest, 'utf8')));
    if (parsed.success && parsed.data.name === name) return { root: dir, main };
  }
  throw new FunctionBundlingError(`${main} is not inside a package.json named ${name}`);
}

function copyPackageJson(root: string, to: string): void {
  mkdirSync(to, { recursive: true });
  copyFileSync(join(root, 'package.json'), join(to, 'package.json'));
}

/** Copies the files under `from` whose names match `keep`, recursively, keeping the layout. */
function copyTree(from: string, to: string, keep: RegExp): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    if (entry.isDirectory()) {
      copyTree(source, join(to, entry.name), keep);
    } else if (keep.test(entry.name)) {
      mkdirSync(to, { recursive: true });
      copyFileSync(source, join(to, entry.name));
    }
  }
}
