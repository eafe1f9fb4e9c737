import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as z from 'zod';
import { directorySize } from '../../lib/cdk/private/directory-size.js';
import { FunctionEntry } from '../../lib/cdk/private/entry-paths.js';
import { environmentCredentials } from '../../lib/cdk/private/environment-credentials.js';
import {
  BUNDLE_FILE,
  type FunctionCodeProps,
  functionCode,
  MAX_FUNCTION_ASSET_BYTES,
} from '../../lib/cdk/private/function-code.js';
import { AlarmThresholdsSchema } from '../../lib/core/config/alarm-thresholds.js';
import type { Architecture } from '../../lib/core/config/deploy-config.js';
import { ResponseHeader } from '../../lib/core/contract/headers.js';
import { buildProxyEvent } from '../../lib/core/contract/proxy-event.js';
import { UploadsResponseSchema } from '../../lib/core/contract/tensor-objects.js';
import { FunctionVariable, predictEnvironment } from '../../lib/core/environment/predict-environment.js';
import type { ModelManifest } from '../../lib/core/manifest/ModelManifest.js';
import { PublishExtrasSchema } from '../../lib/core/manifest/ModelManifest.js';
import { LocalObjectStore } from '../../lib/local/LocalObjectStore.js';
import { SAMPLE_MODELS } from '../../lib/local/sample-models.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { ModelRegistry } from '../../lib/storage/ModelRegistry.js';
import { CDK_CONTEXT } from './stack-fixture.js';

// Any attempt to bundle in Docker fails loudly instead of finding a docker binary by chance.
process.env.CDK_DOCKER = '/nonexistent/docker';
// The embedded store's client runs in this process on the developer's Node; its support notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** Marks the child's result line among the function's own log lines on stdout. */
const RESULT_MARKER = 'SLUICE_ASSET_TEST_RESULT ';

/** Where the App of each synth writes its cloud assembly; removed at the end. */
const scratch = mkdtempSync(join(tmpdir(), 'sluice-function-asset-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface SynthesizedAsset {
  /** The staged asset folder that CDK zips and uploads. */
  readonly directory: string;
  /** The asset hash, also the function's Code.S3Key without `.zip`. */
  readonly hash: string;
}

let synths = 0;

/** Synthesizes an App holding one function with this code, and finds its staged asset through the template and asset manifest. */
function synthFunctionAsset(props: FunctionCodeProps): SynthesizedAsset {
  const app = new App({ outdir: join(scratch, `assembly-${synths++}`), context: CDK_CONTEXT });
  const stack = new Stack(app, 'FunctionAsset');
  new lambda.Function(stack, 'Function', {
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: props.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
    handler: 'index.handler',
    code: functionCode(props),
  });
  const assembly = app.synth();
  const functions = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
  assert.equal(functions.length, 1);
  const key = z
    .object({ Properties: z.object({ Code: z.object({ S3Key: z.string().regex(/^[0-9a-f]{64}\.zip$/) }) }) })
    .parse(functions[0]).Properties.Code.S3Key;
  const hash = key.slice(0, -'.zip'.length);
  const assetManifest = z
    .object({
      files: z.record(
        z.string(),
        z.object({ source: z.object({ path: z.string(), packaging: z.string() }) }),
      ),
    })
    .parse(JSON.parse(readFileSync(join(assembly.directory, `${stack.artifactId}.assets.json`), 'utf8')));
  const source = assetManifest.files[hash]?.source;
  assert.deepEqual(
    source,
    { path: `asset.${hash}`, packaging: 'zip' },
    'the function code is uploaded as a zip of the staged folder',
  );
  return { directory: join(assembly.directory, source.path), hash };
}

/** The predict function's asset for one architecture. */
function predictAsset(architecture: Architecture): SynthesizedAsset {
  return synthFunctionAsset({ entry: FunctionEntry.PREDICT, architecture, includeOnnxRuntime: true });
}

/** Every file under a directory, relative to it, with `/` separators. */
function filesUnder(directory: string): string[] {
  return readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => relative(directory, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}

/**
 * The bundle's own files in an asset: index.mjs, the chunks esbuild split off (what modules load by import(), and
 * what only those share) and a source map for each.
 */
function bundleFilesUnder(directory: string): string[] {
  return filesUnder(directory).filter((file) => !file.startsWith('node_modules/'));
}

/** Asserts an asset carries its bundle alone: index.mjs and its chunks, each with its source map, nothing else. */
function assertBundleAlone(directory: string): void {
  const files = filesUnder(directory);
  assert.ok(files.includes(BUNDLE_FILE), `no ${BUNDLE_FILE} in ${files.join(', ')}`);
  for (const file of files) assert.match(file, /^[\w-]+\.mjs(\.map)?$/, 'a file beside the bundle');
  const code = files.filter((file) => file.endsWith('.mjs'));
  assert.deepEqual(
    files.filter((file) => file.endsWith('.map')),
    code.map((file) => `${file}.map`),
    'a source map for each file of the bundle',
  );
}

/** The bundle's JavaScript files that index.mjs imports statically, itself included: what a cold start compiles. */
function staticBundleFiles(directory: string): string[] {
  const found = new Set<string>();
  const pending = [BUNDLE_FILE];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (found.has(file)) continue;
    found.add(file);
    const code = readFileSync(join(directory, file), 'utf8');
    // `import{a}from"./chunk-X.mjs"` and `import"./chunk-X.mjs"`; not `import("./x.mjs")`, which loads on demand.
    for (const match of code.matchAll(/(?:from|import)\s*["']\.\/([\w-]+\.mjs)["']/g))
      pending.push(match[1] as string);
  }
  return [...found].sort();
}

/** All of the bundle's JavaScript in an asset, its chunks included. */
function bundleCode(directory: string): string {
  return bundleFilesUnder(directory)
    .filter((file) => file.endsWith('.mjs'))
    .map((file) => readFileSync(join(directory, file), 'utf8'))
    .join('\n');
}

const ONNXRUNTIME_BINARIES = 'node_modules/onnxruntime-node/bin/napi-v6/';

// Bundled once per architecture and shared by the tests below.
const x64 = predictAsset('x86_64');
const arm64 = predictAsset('arm64');

describe('predict function asset: bundled locally into index.mjs with only its architecture’s onnxruntime binaries', () => {
  it('x86_64 carries index.mjs, onnxruntime-node and onnxruntime-common, and only the linux/x64 binaries', () => {
    const files = filesUnder(x64.directory);
    assert.ok(files.includes(BUNDLE_FILE));
    assert.ok(files.includes('node_modules/onnxruntime-node/package.json'));
    assert.ok(files.includes('node_modules/onnxruntime-node/dist/index.js'));
    assert.ok(files.includes('node_modules/onnxruntime-common/package.json'));
    assert.ok(files.includes('node_modules/onnxruntime-common/dist/cjs/index.js'));
    assert.deepEqual(
      files.filter((file) => file.startsWith(ONNXRUNTIME_BINARIES)),
      [
        `${ONNXRUNTIME_BINARIES}linux/x64/libonnxruntime.so.1`,
        `${ONNXRUNTIME_BINARIES}linux/x64/onnxruntime_binding.node`,
      ],
    );
    for (const file of files) {
      assert.doesNotMatch(
        file,
        /darwin|win32|linux\/arm64|providers_(cuda|tensorrt|shared)|\.dll$|\.dylib$/,
        file,
      );
      assert.doesNotMatch(file, /\.d\.[cm]?ts$/, `type declarations are of no use at run time: ${file}`);
    }
  });

  it(`x86_64 is at most MAX_FUNCTION_ASSET_BYTES (${MAX_FUNCTION_ASSET_BYTES}) unzipped`, () => {
    const size = directorySize(x64.directory);
    assert.ok(size <= MAX_FUNCTION_ASSET_BYTES, `${size} bytes`);
    // The onnxruntime library alone is about 45 MB: anything much smaller means the binaries are missing.
    assert.ok(size > 40 * 1024 * 1024, `${size} bytes`);
  });

  it('arm64 carries only the linux/arm64 binaries', () => {
    const files = filesUnder(arm64.directory);
    assert.ok(files.includes(BUNDLE_FILE));
    assert.deepEqual(
      files.filter((file) => file.startsWith(ONNXRUNTIME_BINARIES)),
      [
        `${ONNXRUNTIME_BINARIES}linux/arm64/libonnxruntime.so.1`,
        `${ONNXRUNTIME_BINARIES}linux/arm64/onnxruntime_binding.node`,
      ],
    );
    assert.ok(directorySize(arm64.directory) <= MAX_FUNCTION_ASSET_BYTES);
    assert.notEqual(arm64.hash, x64.hash);
  });

  it('bundles the function code only: no aws-cdk-lib, and onnxruntime-node imported from node_modules, not inlined', () => {
    const bundle = bundleCode(x64.directory);
    assert.doesNotMatch(bundle, /aws-cdk-lib|@aws-cdk\/|jsii/, 'the CDK must not reach the function');
    // A static import, or the dynamic one the engine uses to load the runtime while the model downloads.
    assert.match(bundle, /(from\s*|import\(\s*)["']onnxruntime-node["']/, 'onnxruntime-node stays an import');
    assert.doesNotMatch(
      bundle,
      /onnxruntime_binding\.node|initOrtOnce|listSupportedBackends/,
      'onnxruntime-node JavaScript inlined',
    );
  });

  it('imports no node:http or node:https at its top level: they load by require where a module needs them (about 50 ms of a cold start)', () => {
    const bundle = bundleCode(x64.directory);
    // esbuild writes the static imports of externals as `import ... from "node:x"` statements, hoisted to the top.
    assert.doesNotMatch(bundle, /from\s*["'](node:)?https?["']/, 'an ES import of node:http(s)');
    assert.match(bundle, /\["node","https?"\]\.join\(":"\)/, 'the stand-ins of builtins-by-require');
  });
});

/** The sources of some of a bundle's files (all of them by default), as their source maps list them. */
function bundledSources(
  directory: string,
  files = bundleFilesUnder(directory).filter((file) => file.endsWith('.mjs')),
): string[] {
  return files.flatMap(
    (file) =>
      z
        .object({ sources: z.array(z.string()) })
        .parse(JSON.parse(readFileSync(join(directory, `${file}.map`), 'utf8'))).sources,
  );
}

/** The npm packages a bundle was built from, as its source maps list them. */
function bundledPackages(directory: string): Set<string> {
  const packages = new Set<string>();
  for (const source of bundledSources(directory)) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(source);
    if (match?.[1]) packages.add(match[1]);
  }
  return packages;
}

describe('function bundles: what each Lambda function carries', () => {
  it('the predict function reads no ONNX graphs: no onnx-proto or protobufjs, and no publishing or CDK code', () => {
    const packages = bundledPackages(x64.directory);
    assert.ok(
      packages.has('zod'),
      `the source map lists the bundled packages (got ${[...packages].join(', ')})`,
    );
    for (const forbidden of [
      'onnx-proto',
      'protobufjs',
      'aws-cdk-lib',
      'constructs',
      's3rver',
      'commander',
    ]) {
      assert.ok(!packages.has(forbidden), `the predict bundle carries ${forbidden}`);
    }
  });

  it('the predict function compiles at a cold start only what its first request needs: no tracer, batch scoring, OpenAPI, presigner, zod locale but English or deploy config', () => {
    const staticFiles = staticBundleFiles(x64.directory);
    const compiled = bundledSources(x64.directory, staticFiles);
    const all = bundledSources(x64.directory);
    assert.ok(
      compiled.some((source) => source.endsWith('lib/serving/create-predict-handler.ts')),
      'the handler',
    );
    assert.ok(
      compiled.some((source) => source.includes('zod/v4/locales/en.js')),
      "zod's default locale",
    );
    for (const [lazy, what] of [
      ['@aws-lambda-powertools/tracer/', 'the tracer (loaded with active tracing only)'],
      ['aws-xray-sdk-core/', "the tracer's X-Ray SDK"],
      ['lib/serving/InferenceApp.ts', 'the request pipeline (loaded while the model downloads)'],
      ['lib/serving/score-batch-event.ts', 'batch scoring'],
      ['lib/core/contract/openapi-document.ts', 'the OpenAPI document'],
      ['@aws-sdk/s3-request-presigner/', 'the presigner (tensors by reference)'],
    ] as const) {
      assert.ok(
        all.some((source) => source.includes(lazy)),
        `${what}: in the bundle`,
      );
      assert.ok(!compiled.some((source) => source.includes(lazy)), `${what}: in ${staticFiles.join(', ')}`);
    }
    // zod's namespace re-export `import { z } from 'zod'` kept every locale (264 KB of 1.3 MB); `import * as z` keeps one.
    assert.deepEqual(
      all.filter((source) => /zod\/v4\/locales\/(?!en\.js)/.test(source)),
      [],
      'zod locales other than English',
    );
    assert.ok(
      !all.some((source) => source.endsWith('lib/core/config/deploy-config.ts')),
      'the deploy config schemas',
    );
    // The SDK's default credential chain, which the S3 client requires whole: only the environment's is bundled.
    for (const chain of [
      '@aws-sdk/credential-provider-node/',
      '@aws-sdk/credential-provider-ini/',
      '@aws-sdk/nested-clients/',
    ])
      assert.ok(!all.some((source) => source.includes(chain)), `${chain} in the bundle`);
    assert.ok(
      compiled.some((source) => source.includes('@aws-sdk/credential-provider-env/')),
      'the environment provider',
    );
  });

  it('every chunk a bundle loads by import() exports its names (a CommonJS package split off exports only `default`)', () => {
    for (const directory of [
      x64.directory,
      synthFunctionAsset({
        entry: FunctionEntry.ROLLOUT_DRIVER,
        architecture: 'x86_64',
        includeOnnxRuntime: false,
      }).directory,
    ]) {
      const files = bundleFilesUnder(directory).filter((file) => file.endsWith('.mjs'));
      const loaded = new Set(
        files.flatMap((file) =>
          [
            ...readFileSync(join(directory, file), 'utf8').matchAll(
              /import\(\s*["']\.\/([\w-]+\.mjs)["']\s*\)/g,
            ),
          ].map((match) => match[1] as string),
        ),
      );
      assert.ok(
        directory !== x64.directory || loaded.size > 0,
        'the predict bundle loads chunks by import()',
      );
      for (const file of loaded) {
        // The node:http(s) stand-ins are CommonJS by design (builtinsByRequire); only @smithy's instance-metadata
        // region lookup imports them so, which Lambda never runs (it sets AWS_REGION).
        if (/^https?-/.test(file)) continue;
        assert.doesNotMatch(
          readFileSync(join(directory, file), 'utf8'),
          /\bexport\s+default\b/,
          `${file} exports only default`,
        );
      }
    }
  });

  it("the functions' default credentials are the environment's, as Lambda sets them from the execution role", async () => {
    const [standIn] = Object.values(environmentCredentials());
    const { defaultProvider } = createRequire(import.meta.url)(standIn as string) as {
      defaultProvider: () => () => Promise<{
        accessKeyId: string;
        secretAccessKey: string;
        sessionToken?: string;
      }>;
    };
    const saved = { ...process.env };
    try {
      Object.assign(process.env, {
        AWS_ACCESS_KEY_ID: 'AKIDROLE',
        AWS_SECRET_ACCESS_KEY: 'secret',
        AWS_SESSION_TOKEN: 'token',
      });
      const credentials = await defaultProvider()();
      assert.deepEqual(
        [credentials.accessKeyId, credentials.secretAccessKey, credentials.sessionToken],
        ['AKIDROLE', 'secret', 'token'],
      );
      delete process.env.AWS_ACCESS_KEY_ID;
      await assert.rejects(defaultProvider()(), /Unable to find environment variable credentials/);
    } finally {
      for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  });

  for (const [name, entry] of [
    ['release', FunctionEntry.RELEASE],
    ['rollout-driver', FunctionEntry.ROLLOUT_DRIVER],
    ['alarm-rollback', FunctionEntry.ALARM_ROLLBACK],
  ] as const) {
    it(`functions/${name} carries no onnxruntime, onnx-proto or protobufjs`, () => {
      const asset = synthFunctionAsset({ entry, architecture: 'x86_64', includeOnnxRuntime: false });
      const packages = bundledPackages(asset.directory);
      for (const forbidden of [
        'onnxruntime-node',
        'onnxruntime-common',
        'onnx-proto',
        'protobufjs',
        'aws-cdk-lib',
      ]) {
        assert.ok(!packages.has(forbidden), `functions/${name} carries ${forbidden}`);
      }
    });
  }
});

describe('function asset hash: the same for identical synths, different when the code changes', () => {
  it('is the same when the predict function is synthesized again', () => {
    assert.equal(predictAsset('x86_64').hash, x64.hash);
  });

  it('changes when the bundled code changes', () => {
    const entry = join(scratch, 'changing', 'index.ts');
    mkdirSync(join(scratch, 'changing'));
    writeFileSync(entry, "export const handler = async () => 'one';\n");
    const one = synthFunctionAsset({ entry, architecture: 'x86_64', includeOnnxRuntime: false });
    const oneAgain = synthFunctionAsset({ entry, architecture: 'x86_64', includeOnnxRuntime: false });
    writeFileSync(entry, "export const handler = async () => 'two';\n");
    const two = synthFunctionAsset({ entry, architecture: 'x86_64', includeOnnxRuntime: false });
    assert.equal(oneAgain.hash, one.hash);
    assert.notEqual(two.hash, one.hash);
    assert.deepEqual(
      filesUnder(two.directory),
      [BUNDLE_FILE, `${BUNDLE_FILE}.map`],
      'no onnxruntime when not asked for',
    );
  });
});

describe('function code: fails at synth, never falling back to Docker', () => {
  it('refuses an entry that imports onnxruntime-node when includeOnnxRuntime is false', () => {
    const entry = join(scratch, 'needs-ort', 'index.ts');
    mkdirSync(join(scratch, 'needs-ort'));
    writeFileSync(
      entry,
      "import { env } from 'onnxruntime-node';\nexport const handler = async () => env.logLevel;\n",
    );
    assert.throws(
      () => synthFunctionAsset({ entry, architecture: 'x86_64', includeOnnxRuntime: false }),
      /imports onnxruntime-node at run time.*includeOnnxRuntime: true/,
    );
  });

  it('refuses an entry that does not exist, naming it', () => {
    const entry = join(scratch, 'missing', 'index.ts');
    assert.throws(
      () => functionCode({ entry, architecture: 'x86_64', includeOnnxRuntime: false }),
      new RegExp(`${entry} does not exist`),
    );
  });

  it('reports an esbuild failure with the entry', () => {
    const entry = join(scratch, 'broken', 'index.ts');
    mkdirSync(join(scratch, 'broken'));
    writeFileSync(entry, "import { nothing } from './nowhere.js';\nexport const handler = nothing;\n");
    assert.throws(
      () => synthFunctionAsset({ entry, architecture: 'x86_64', includeOnnxRuntime: false }),
      /esbuild could not bundle .*broken.*nowhere/s,
    );
  });
});

const ProxyResultSchema = z.object({
  statusCode: z.number(),
  headers: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  body: z.string(),
});
type ProxyResult = z.infer<typeof ProxyResultSchema>;

const InferResponseSchema = z.object({
  model_name: z.string(),
  model_version: z.string(),
  outputs: z.array(
    z.object({
      name: z.string(),
      shape: z.array(z.number()),
      datatype: z.string(),
      data: z.array(z.coerce.number()),
    }),
  ),
});

const PredictResponseSchema = z.object({
  predictions: z.array(z.object({ label: z.string(), probabilities: z.record(z.string(), z.number()) })),
});

/** An API Gateway REST proxy event, as Lambda delivers it to the function. */
function proxyEvent(path: string, body: unknown): APIGatewayProxyEvent {
  return buildProxyEvent({
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    requestId: `asset-test-${path}`,
    requestTimeEpoch: Date.now(),
  });
}

/**
 * What Lambda's Node.js runtime does with the asset: import index.mjs from the task root by file URL,
 * then call `handler(event, context)` for each event in turn, in one process (one cold start).
 */
const LAMBDA_LIKE_RUNTIME = `
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
const handler = (await import(pathToFileURL(join(process.cwd(), 'index.mjs')).href))[process.env.ASSET_TEST_HANDLER ?? 'handler'];
const events = JSON.parse(process.env.ASSET_TEST_EVENTS);
const results = [];
for (const [index, event] of events.entries()) {
  const context = {
    awsRequestId: 'asset-test-' + index,
    functionName: 'sluice-iris',
    functionVersion: '1',
    memoryLimitInMB: '1024',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 29000,
  };
  results.push(await handler(event, context));
}
process.stdout.write(${JSON.stringify(RESULT_MARKER)} + JSON.stringify(results) + '\\n', () => process.exit(0));
`;

/**
 * Runs the Lambda-like runtime in a fresh `node` with only the given environment; returns the handler results.
 * The process ends with the test or suite whose `signal` it is given (when the runner cancels or times it out),
 * not after a time of its own.
 */
async function invokeInChild(
  taskRoot: string,
  env: Record<string, string>,
  events: unknown[],
  signal: AbortSignal,
): Promise<unknown[]> {
  const child = spawn(process.execPath, ['--input-type=module', '--eval', LAMBDA_LIKE_RUNTIME], {
    cwd: taskRoot,
    env: { ...env, ASSET_TEST_EVENTS: JSON.stringify(events) },
    stdio: ['ignore', 'pipe', 'pipe'],
    signal,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const line = stdout.split('\n').find((candidate) => candidate.startsWith(RESULT_MARKER));
  assert.ok(
    code === 0 && line,
    `the function process exited with ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`,
  );
  return z.array(z.unknown()).parse(JSON.parse(line.slice(RESULT_MARKER.length)));
}

describe('predict function asset: answers on its own, copied out of the repository, loaded as Lambda loads it', () => {
  let home: string;
  let taskRoot: string;
  let store: LocalObjectStore;
  let manifest: ModelManifest;
  let results: ProxyResult[];

  before(async (suite) => {
    home = mkdtempSync(join(tmpdir(), 'sluice-lambda-task-'));
    taskRoot = join(home, 'task');
    mkdirSync(taskRoot);
    const resolveFrom = (directory: string) =>
      createRequire(import.meta.url).resolve('onnxruntime-node', { paths: [directory] });
    assert.throws(
      () => resolveFrom(taskRoot),
      /Cannot find module/,
      'the repository node_modules must be out of reach',
    );
    cpSync(x64.directory, taskRoot, { recursive: true });
    assert.equal(
      resolveFrom(taskRoot),
      join(taskRoot, 'node_modules', 'onnxruntime-node', 'dist', 'index.js'),
    );

    store = await LocalObjectStore.start({ directory: join(home, 's3'), port: 0 });
    const [iris] = SAMPLE_MODELS;
    const extras = PublishExtrasSchema.parse(JSON.parse(readFileSync(iris.extrasPath, 'utf8')));
    manifest = await publishVersion(new ModelRegistry({ store: store.objects() }), {
      name: 'iris',
      model: iris.modelPath,
      extras,
    });
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      // As the deployed function runs: stack traces go through the shipped source map.
      NODE_OPTIONS: '--enable-source-maps',
      // The environment the stack gives the function (one contract, lib/config/function-environment.ts).
      ...predictEnvironment({
        bucket: store.bucket,
        model: 'iris',
        version: manifest.version,
        sha256: manifest.sha256,
        alarms: AlarmThresholdsSchema.parse({}),
      }),
      [FunctionVariable.S3_ENDPOINT]: store.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const answers = await invokeInChild(
      taskRoot,
      env,
      [
        proxyEvent('/v2/models/iris/infer', {
          inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
        }),
        proxyEvent('/models/iris/predict', { instances: [[5.1, 3.5, 1.4, 0.2]] }),
        // An upload URL: the presigner, a chunk the bundle loads by import() on the first one.
        proxyEvent('/v2/models/iris/uploads', {
          inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4] }],
        }),
      ],
      suite.signal,
    );
    results = z.array(ProxyResultSchema).parse(answers);
  });

  after(async () => {
    await store?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('answers POST /v2/models/iris/infer with 200, the served version, label 0 (setosa) and probabilities summing to 1', () => {
    const [infer] = results;
    assert.ok(infer);
    assert.equal(infer.statusCode, 200, infer.body);
    assert.equal(String(infer.headers[ResponseHeader.MODEL_VERSION]), String(manifest.version));
    const body = InferResponseSchema.parse(JSON.parse(infer.body));
    assert.equal(body.model_version, String(manifest.version));
    const output = (name: string) => body.outputs.find((candidate) => candidate.name === name)?.data ?? [];
    assert.deepEqual(output('label'), [0]);
    const probabilities = output('probabilities');
    assert.equal(probabilities.length, 3);
    assert.ok(Math.abs(probabilities.reduce((sum, p) => sum + p, 0) - 1) < 1e-4, `${probabilities}`);
  });

  it('answers POST /v2/models/iris/uploads with a presigned PUT into the request prefix (the presigner, loaded on first use)', () => {
    const [, , uploads] = results;
    assert.ok(uploads);
    assert.equal(uploads.statusCode, 200, uploads.body);
    const [ticket] = UploadsResponseSchema.parse(JSON.parse(uploads.body)).uploads;
    assert.ok(ticket);
    const url = new URL(ticket.url);
    assert.equal(url.pathname, `/${store.bucket}/requests/iris/${ticket.object.split('/').at(-1)}`);
    assert.equal(url.searchParams.get('X-Amz-Algorithm'), 'AWS4-HMAC-SHA256');
    assert.equal(ticket.method, 'PUT');
  });

  it("answers POST /models/iris/predict (the simple form) with 'setosa'", () => {
    const [, predict] = results;
    assert.ok(predict);
    assert.equal(predict.statusCode, 200, predict.body);
    assert.equal(String(predict.headers[ResponseHeader.MODEL_VERSION]), String(manifest.version));
    const [prediction] = PredictResponseSchema.parse(JSON.parse(predict.body)).predictions;
    assert.equal(prediction?.label, 'setosa');
  });
});

describe('control-plane assets: the release handlers and the rollout driver bundle alone and load as Lambda loads them', () => {
  const controlPlaneAsset = (entry: string) =>
    synthFunctionAsset({ entry, architecture: 'x86_64', includeOnnxRuntime: false });
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    SLUICE_BUCKET: 'registry-bucket',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'unused',
    AWS_SECRET_ACCESS_KEY: 'unused',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const taskRootOf = (directory: string) => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-control-plane-task-'));
    cpSync(directory, root, { recursive: true });
    return root;
  };

  it('functions/rollout-driver: its bundle alone; a tick of a stack without models does nothing and says so', async (t) => {
    const asset = controlPlaneAsset(FunctionEntry.ROLLOUT_DRIVER);
    assertBundleAlone(asset.directory);
    const root = taskRootOf(asset.directory);
    try {
      // EventBridge Scheduler's invocation carries the target's input; the driver needs nothing from it.
      const [result] = await invokeInChild(root, { ...env, SLUICE_MODEL_FUNCTIONS: '{}' }, [{}], t.signal);
      assert.deepEqual(result, { outcomes: [], pruned: {} });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('functions/release: its bundle alone, exporting onEvent and isComplete; isComplete of a Create is complete at once', async (t) => {
    const asset = controlPlaneAsset(FunctionEntry.RELEASE);
    assertBundleAlone(asset.directory);
    const root = taskRootOf(asset.directory);
    try {
      const created = {
        RequestType: 'Create',
        PhysicalResourceId: 'Sluice-Iris-AbC:live',
        ResourceProperties: {
          FunctionName: 'Sluice-Iris-AbC',
          Model: 'iris',
          ModelVersion: '1',
          Sha256: 'a'.repeat(64),
          LambdaVersion: '1',
          Plan: '{"strategy":"canary","steps":[10,100],"intervalMs":300000}',
        },
        Data: { Action: 'created' },
      };
      const [result] = await invokeInChild(
        root,
        { ...env, ASSET_TEST_HANDLER: 'isComplete' },
        [created],
        t.signal,
      );
      assert.deepEqual(result, { IsComplete: true });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
