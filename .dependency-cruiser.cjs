// The layers of lib/ and who may import whom: `npm run lint` and `npm test` (test/infra/layers.test.ts) run it.
// Layers, lowest first: core (portable: no I/O, no SDK, no onnxruntime), storage (the object store port and its S3
// adapter, the registry and rollout store on it), serving (engine, app), rollout (the engine that moves traffic),
// publish (reads ONNX graphs), aws (Lambda, CloudWatch, release, driver adapters), local (the local stack), cdk
// (constructs: core only), cli, tools (build time). Imports point down only.

/** A folder of lib/ as a path pattern. */
const layer = (name) => `^lib/${name}/`;

/** Every layer a given one must not import (everything above it, and the build-time tools). */
const above = {
  core: ['storage', 'serving', 'rollout', 'publish', 'aws', 'local', 'cdk', 'cli', 'tools'],
  storage: ['serving', 'rollout', 'publish', 'aws', 'local', 'cdk', 'cli', 'tools'],
  serving: ['rollout', 'publish', 'aws', 'local', 'cdk', 'cli', 'tools'],
  rollout: ['serving', 'publish', 'aws', 'local', 'cdk', 'cli', 'tools'],
  publish: ['rollout', 'aws', 'local', 'cdk', 'cli', 'tools'],
  aws: ['serving', 'publish', 'local', 'cdk', 'cli', 'tools'],
  local: ['aws', 'cdk', 'cli', 'tools'],
  cdk: ['storage', 'serving', 'rollout', 'publish', 'aws', 'local', 'cli', 'tools'],
  cli: ['cdk', 'tools'],
};

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...Object.entries(above).map(([from, forbidden]) => ({
      name: `${from}-imports-down-only`,
      comment: `lib/${from} imports only the layers below it; not ${forbidden.join(', ')}`,
      severity: 'error',
      from: { path: layer(from) },
      to: { path: `^lib/(${forbidden.join('|')})/` },
    })),
    {
      name: 'core-is-portable',
      comment:
        'lib/core has no I/O and loads no SDK or native runtime: of the npm packages it may use zod and jstat (statistics) only, and the aws-lambda event types',
      severity: 'error',
      from: { path: layer('core') },
      to: {
        dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'],
        pathNot: '(^|/)node_modules/(zod|jstat|@types/aws-lambda)/',
      },
    },
    {
      name: 'core-does-no-io',
      comment: 'lib/core reads no files, opens no sockets and starts no processes',
      severity: 'error',
      from: { path: layer('core') },
      to: {
        dependencyTypes: ['core'],
        path: '^(node:)?(fs|fs/promises|http|https|http2|net|dgram|dns|child_process|cluster|worker_threads|os|tls)$',
      },
    },
    {
      name: 'cdk-loads-no-runtime',
      comment:
        'the CDK constructs synthesize without loading an SDK client, Powertools or onnxruntime: what they need of the runtime is in lib/core',
      severity: 'error',
      from: { path: layer('cdk') },
      to: { path: '(^|/)node_modules/(@aws-sdk|@smithy|@aws-lambda-powertools|onnxruntime-node|onnx-proto|s3rver)/', reachable: true },
    },
    {
      name: 'only-cdk-imports-aws-cdk-lib',
      comment: 'code that runs in Lambda (or anywhere but synth) never imports aws-cdk-lib',
      severity: 'error',
      from: { pathNot: ['^lib/cdk/', '^bin/app\\.ts$', '^test/'] },
      to: { path: '(^|/)node_modules/(aws-cdk-lib|constructs|cdk-nag)/' },
    },
    {
      name: 'functions-are-thin-lambda-entries',
      comment: 'a Lambda entry wires serving, rollout and AWS adapters; it never bundles the CLI, the local stack, publishing or build tools',
      severity: 'error',
      from: { path: '^functions/' },
      to: { path: '^lib/(cdk|cli|local|publish|tools)/' },
    },
    {
      name: 'predict-bundle-reads-no-onnx-graphs',
      comment: 'serving never reads ONNX graphs: onnx-proto (and protobufjs) stay out of the predict function',
      severity: 'error',
      from: { path: ['^functions/predict/', layer('serving')] },
      to: { path: '(^|/)node_modules/(onnx-proto|protobufjs)/', reachable: true },
    },
    {
      name: 'nothing-runs-build-tools',
      comment: 'lib/tools (sample training, the ONNX model builder) is for build time, tests and the bench only',
      severity: 'error',
      from: { path: '^(lib/(?!tools/)|functions/|bin/)' },
      to: { path: layer('tools') },
    },
    {
      name: 'no-circular',
      comment: 'no import cycles, not even between two files of one folder',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(cdk\\.out|\\.sluice)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
