import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as z from 'zod';
import { ResponseHeader } from '../../lib/core/contract/headers.js';
import { bodyOf, startTestStack, type TestStack } from '../fixtures/local-stack.js';
import { classifierModel, identityModel, paddedIdentityModel } from '../fixtures/models.js';
import { describeRun, PROJECT_ROOT, runSluiceInProcess } from '../fixtures/sluice-cli.js';

/** Runs the real `sluice` process (`node --import tsx bin/sluice.ts ...`) against a SLUICE_HOME. */
/** The CLI in this process (the progress bar below needs a real terminal, so it runs the real process). */
const sluice = (args: readonly string[], home: string) => runSluiceInProcess(args, home);

const PublishSummarySchema = z.object({
  model: z.string(),
  version: z.number(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number(),
  createdAt: z.string(),
  inputs: z.array(z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number()) })),
  outputs: z.array(z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number()) })),
});

let test: TestStack;
let files: string;
let noStackHome: string;
const modelBytes = identityModel('FP32', [-1]);

before(async () => {
  test = await startTestStack();
  files = await mkdtemp(join(tmpdir(), 'sluice-cli-files-'));
  noStackHome = await mkdtemp(join(tmpdir(), 'sluice-cli-nostack-'));
  await writeFile(join(files, 'identity.onnx'), modelBytes);
  await writeFile(join(files, 'notes.onnx'), 'these are my notes, not a model\n');
  const classifier = classifierModel({ features: 64, classes: 16 });
  await writeFile(join(files, 'truncated.onnx'), classifier.subarray(0, Math.floor(classifier.length / 2)));
  const golden = (expected: number[]) => ({
    goldenExamples: [
      {
        inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [1, 2] }],
        outputs: [{ name: 'y', shape: [2], datatype: 'FP32', data: expected }],
      },
    ],
  });
  await writeFile(join(files, 'wrong-golden.json'), JSON.stringify(golden([1, 3])));
});

after(async () => {
  await test?.stop();
  await rm(files, { recursive: true, force: true });
  await rm(noStackHome, { recursive: true, force: true });
});

describe('sluice CLI: help and usage', () => {
  it('prints help for the program and for every command, exiting 0', async () => {
    const root = await sluice(['--help'], test.home);
    assert.equal(root.code, 0, describeRun(root));
    assert.match(root.stdout, /Usage: sluice/);
    const commandsSection = root.stdout.split(/^Commands:$/m)[1] ?? '';
    const commands = [...commandsSection.matchAll(/^ {2}([a-z][a-z-]*)/gm)]
      .map((match) => match[1] as string)
      .filter((command) => command !== 'help');
    for (const expected of ['publish', 'models', 'versions', 'show'])
      assert.ok(commands.includes(expected), expected);
    const runs = await Promise.all(commands.map((command) => sluice([command, '--help'], test.home)));
    runs.forEach((run, index) => {
      assert.equal(run.code, 0, `${commands[index]} --help: ${describeRun(run)}`);
      assert.match(run.stdout, new RegExp(`Usage: sluice ${commands[index]}`));
    });
  });

  it('exits 2 for an unknown command and for missing arguments', async () => {
    const [unknown, missing] = await Promise.all([
      sluice(['frobnicate'], test.home),
      sluice(['versions', '--local'], test.home),
    ]);
    assert.equal(unknown.code, 2, describeRun(unknown));
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    assert.equal(missing.code, 2, describeRun(missing));
    assert.match(missing.stderr, /missing required argument 'model'/);
  });
});

describe('sluice CLI: publish to the running local stack', () => {
  it('publishes a model with --local --json and prints its summary', async () => {
    const run = await sluice(
      ['publish', join(files, 'identity.onnx'), '--model', 'cli-model', '--local', '--json'],
      test.home,
    );
    assert.equal(run.code, 0, describeRun(run));
    const summary = PublishSummarySchema.parse(JSON.parse(run.stdout));
    assert.equal(summary.model, 'cli-model');
    assert.equal(summary.version, 1);
    assert.equal(summary.sha256, createHash('sha256').update(modelBytes).digest('hex'));
    assert.equal(summary.size, modelBytes.byteLength);
    assert.deepEqual(summary.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1] }]);
  });

  it('serves the published version over HTTP without a restart', async () => {
    const reply = await test.request('POST', '/v2/models/cli-model/versions/1/infer', {
      inputs: [{ name: 'x', shape: [3], datatype: 'FP32', data: [0.5, -1, 2] }],
    });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.headers.get(ResponseHeader.MODEL_VERSION), '1');
    assert.match(reply.text, /"name":"y","datatype":"FP32","shape":\[3\],"data":\[0.5,-1,2\]/);
  });

  it('lists models and versions and shows a manifest with --json', async () => {
    const [models, versions, show] = await Promise.all([
      sluice(['models', '--local', '--json'], test.home),
      sluice(['versions', 'cli-model', '--local', '--json'], test.home),
      sluice(['show', 'cli-model', '--local', '--json'], test.home),
    ]);
    assert.equal(models.code, 0, describeRun(models));
    const listing = z
      .object({ models: z.array(z.object({ model: z.string(), newest: z.number() })) })
      .parse(JSON.parse(models.stdout));
    assert.deepEqual(
      listing.models.map(({ model, newest }) => [model, newest]),
      [
        ['cli-model', 1],
        ['iris', 1],
      ],
    );

    assert.equal(versions.code, 0, describeRun(versions));
    const listed = z
      .object({ model: z.string(), versions: z.array(z.object({ version: z.number(), sha256: z.string() })) })
      .parse(JSON.parse(versions.stdout));
    assert.equal(listed.model, 'cli-model');
    assert.deepEqual(
      listed.versions.map((entry) => entry.version),
      [1],
    );

    assert.equal(show.code, 0, describeRun(show));
    const manifest = z
      .object({ name: z.string(), version: z.number(), sha256: z.string(), outputs: z.array(z.unknown()) })
      .parse(JSON.parse(show.stdout));
    assert.equal(manifest.name, 'cli-model');
    assert.equal(manifest.version, 1);
    assert.equal(manifest.sha256, listed.versions[0]?.sha256);
  });

  it('refuses a file that is not ONNX and a truncated ONNX file, exiting 1 and creating no version', async () => {
    const [notes, truncated] = await Promise.all([
      sluice(['publish', join(files, 'notes.onnx'), '--model', 'junk', '--local'], test.home),
      sluice(['publish', join(files, 'truncated.onnx'), '--model', 'junk', '--local'], test.home),
    ]);
    for (const [run, file] of [
      [notes, 'notes.onnx'],
      [truncated, 'truncated.onnx'],
    ] as const) {
      assert.equal(run.code, 1, describeRun(run));
      assert.match(run.stderr, /^sluice: /);
      assert.ok(run.stderr.includes(file), `the message names the file: ${run.stderr}`);
      assert.match(run.stderr, /not (an|a complete) ONNX model|does not load/);
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(run.stdout, '');
    }
    assert.deepEqual(await test.stack.registry.listModels(), ['cli-model', 'iris']);
  });

  it('refuses a model whose golden examples do not match (exit 1), and publishes it with --skip-golden-check', async () => {
    const args = [
      'publish',
      join(files, 'identity.onnx'),
      '--model',
      'golden',
      '--extras',
      join(files, 'wrong-golden.json'),
      '--local',
    ];
    const refused = await sluice(args, test.home);
    assert.equal(refused.code, 1, describeRun(refused));
    assert.match(refused.stderr, /golden examples do not match/);
    assert.match(refused.stderr, /output "y"\[1\]: expected 3, got 2/);
    assert.match(refused.stderr, /--skip-golden-check/);
    assert.ok(!(await test.stack.registry.listModels()).includes('golden'), 'no version was created');

    const forced = await sluice([...args, '--skip-golden-check', '--json'], test.home);
    assert.equal(forced.code, 0, describeRun(forced));
    const summary = PublishSummarySchema.parse(JSON.parse(forced.stdout));
    assert.equal(summary.model, 'golden');
    assert.equal(summary.version, 1);
    const metadata = await test.request('GET', '/v2/models/golden/versions/1');
    assert.equal(metadata.status, 200, metadata.text);
    assert.equal(bodyOf(metadata, z.object({ name: z.string() })).name, 'golden');
  });

  it('exits 1 saying to run npm start when no local stack is running', async () => {
    const [text, json] = await Promise.all([
      sluice(['models', '--local'], noStackHome),
      sluice(
        ['publish', join(files, 'identity.onnx'), '--model', 'nowhere', '--local', '--json'],
        noStackHome,
      ),
    ]);
    assert.equal(text.code, 1, describeRun(text));
    assert.match(text.stderr, /local stack is not running.*npm start/);
    assert.equal(json.code, 1, describeRun(json));
    assert.match(
      z.object({ error: z.string() }).parse(JSON.parse(json.stdout)).error,
      /not running.*npm start/,
    );
  });
});

// Last: it publishes a model the listings above do not expect.
describe('sluice CLI: upload progress', () => {
  it('draws an upload progress bar on a terminal (a pseudo-terminal from script(1)), and none when piped', async (t) => {
    const big = join(files, 'big.onnx');
    await writeFile(big, paddedIdentityModel({ graphName: 'big', paddingBytes: 10 * 1024 * 1024 }));
    const command = `${process.execPath} --import tsx bin/sluice.ts publish ${big} --model big-model --local`;
    const onTerminal = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn('script', ['-qec', command, '/dev/null'], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, SLUICE_HOME: test.home, NODE_TEST_CONTEXT: undefined },
        stdio: ['ignore', 'pipe', 'pipe'],
        // Ends with the test (cancelled or timed out by the runner), not after a time of its own.
        signal: t.signal,
      });
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, output }));
    });
    assert.equal(onTerminal.code, 0, onTerminal.output);
    assert.match(onTerminal.output, /uploading \[[^\]]*\] 100% 10(\.0)?\/10(\.0)? MiB/);
    assert.match(onTerminal.output, /published big-model version 1/);

    // Another description: the same publish again would answer version 1 without uploading anything.
    const piped = await sluice(
      ['publish', big, '--model', 'big-model', '--description', 'piped', '--local'],
      test.home,
    );
    assert.equal(piped.code, 0, describeRun(piped));
    assert.doesNotMatch(piped.stdout + piped.stderr, /uploading/);
    assert.match(piped.stdout, /published big-model version 2/);
  });
});
