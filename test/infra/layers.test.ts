import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PROJECT_ROOT } from '../fixtures/sluice-cli.js';

/** The dependency-cruiser command `npm run lint` runs, on the folders it checks. */
function cruise(root: string, folders: readonly string[]): { status: number | null; output: string } {
  const result = spawnSync(
    process.execPath,
    [
      join(PROJECT_ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs'),
      ...folders,
      '--config',
      '.dependency-cruiser.cjs',
      '--output-type',
      'err',
    ],
    { cwd: root, encoding: 'utf8' },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** A throwaway project with the real rules and the real node_modules, holding the given files. */
function projectWith(files: Readonly<Record<string, string>>): string {
  const root = mkdtempSync(join(tmpdir(), 'sluice-layers-'));
  for (const name of ['.dependency-cruiser.cjs', 'tsconfig.json', 'package.json'])
    copyFileSync(join(PROJECT_ROOT, name), join(root, name));
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/**
 * The Node the project's scripts run on: the Lambda runtime's major that `npm install` brings on Linux x64
 * (node_modules/.bin/node), else this process's (which must then be 22 or newer, as the README says).
 */
function projectNode(): string {
  const installed = join(PROJECT_ROOT, 'node_modules', '.bin', 'node');
  return existsSync(installed) ? installed : process.execPath;
}

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describe('layers: imports point down the layers of lib/, checked by `npm run lint` and here', () => {
  it('the tree as it is breaks no rule', () => {
    const { status, output } = cruise(PROJECT_ROOT, ['lib', 'functions', 'bin']);
    assert.equal(status, 0, output);
    assert.match(output, /no dependency violations found/);
  });

  it('refuses an import that runs back up, an SDK or native runtime in the core, a cycle, and onnx-proto in serving', () => {
    const root = projectWith({
      'lib/core/tensor/codec.ts':
        "import { serve } from '../../serving/app.js';\nexport const codec = serve;\n",
      'lib/core/gates/rule.ts':
        "import type { MetricAlarm } from '@aws-sdk/client-cloudwatch';\nexport type Alarm = MetricAlarm;\n",
      'lib/core/config/read.ts':
        "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n",
      'lib/serving/app.ts':
        "export const serve = 1;\nimport onnxProto from 'onnx-proto';\nexport const proto = onnxProto;\n",
      'lib/cdk/stack.ts':
        "import { LambdaClient } from '@aws-sdk/client-lambda';\nexport const client = LambdaClient;\n",
      'lib/cli/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'lib/cli/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
      'functions/predict/index.ts':
        "import { serve } from '../../lib/serving/app.js';\nexport const handler = serve;\n",
    });
    roots.push(root);
    const { status, output } = cruise(root, ['lib', 'functions']);
    assert.notEqual(status, 0, output);
    for (const rule of [
      'core-imports-down-only: lib/core/tensor/codec.ts → lib/serving/app.ts',
      'core-is-portable: lib/core/gates/rule.ts',
      'core-does-no-io: lib/core/config/read.ts → fs',
      'predict-bundle-reads-no-onnx-graphs: lib/serving/app.ts',
      'predict-bundle-reads-no-onnx-graphs: functions/predict/index.ts',
      'cdk-loads-no-runtime: lib/cdk/stack.ts',
      'no-circular: lib/cli/a.ts',
    ]) {
      assert.ok(output.includes(rule), `expected "${rule}" in:\n${output}`);
    }
  });
});

describe('layers at run time: importing the CDK app’s modules loads no runtime and changes no global', () => {
  it('loads no AWS SDK client, Powertools, onnxruntime or onnx-proto module, and leaves Float16Array alone', () => {
    // A resolve hook records every module the import loads (module.registerHooks, Node 22.15 and later).
    const probe = `
      import { registerHooks } from 'node:module';
      const loaded = [];
      registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); loaded.push(result.url); return result; } });
      const hadFloat16 = 'Float16Array' in globalThis;
      await import(${JSON.stringify(join(PROJECT_ROOT, 'lib', 'cdk', 'sluice-stack.ts'))});
      await import(${JSON.stringify(join(PROJECT_ROOT, 'lib', 'cdk', 'read-deploy-config.ts'))});
      process.stdout.write(JSON.stringify({ loaded, hadFloat16, hasFloat16: 'Float16Array' in globalThis }));
    `;
    const result = spawnSync(projectNode(), ['--import', 'tsx', '--input-type=module', '-e', probe], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    const { loaded, hadFloat16, hasFloat16 } = JSON.parse(result.stdout) as {
      loaded: string[];
      hadFloat16: boolean;
      hasFloat16: boolean;
    };
    assert.ok(
      loaded.some((url) => url.includes('/aws-cdk-lib/')),
      'the probe saw the CDK load',
    );
    const runtime = loaded.filter((url) =>
      /\/node_modules\/(@aws-sdk|@smithy|@aws-lambda-powertools|onnxruntime-node|onnx-proto|protobufjs)\//.test(
        url,
      ),
    );
    assert.deepEqual(runtime, [], 'the CDK constructs loaded runtime modules');
    assert.equal(hasFloat16, hadFloat16, 'an import changed globalThis.Float16Array');
  });
});
