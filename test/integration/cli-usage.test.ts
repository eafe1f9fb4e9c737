import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpForward } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { MAX_ARGUMENT_CHARS } from '../../lib/cli/argument-limits.js';
import { MANIFEST_OBJECT, versionKey } from '../../lib/core/manifest/registry-layout.js';
import { writeLocalStackInfo } from '../../lib/local/local-home.js';
import { publishVersion } from '../../lib/publish/publish-version.js';
import { MULTIPART_THRESHOLD_BYTES } from '../../lib/storage/S3ObjectStore.js';
import { startTestStack, type TestStack } from '../fixtures/local-stack.js';
import {
  classifierModel,
  externalDataModel,
  identityModel,
  paddedIdentityModel,
} from '../fixtures/models.js';
import {
  describeRun,
  PROJECT_ROOT,
  type RunningCli,
  runSluice,
  runSluiceInProcess,
  startSluice,
} from '../fixtures/sluice-cli.js';

/** `sluice ARGS` in this process against the test stack's home. */
const sluice = (args: readonly string[]) => runSluiceInProcess(args, test.home);

const ErrorSchema = z.strictObject({ error: z.string().min(1) });

let test: TestStack;
let files: string;

before(async () => {
  test = await startTestStack();
  files = await mkdtemp(join(tmpdir(), 'sluice-cli-usage-'));
  await writeFile(join(files, 'identity.onnx'), identityModel('FP32', [-1]));
  await writeFile(join(files, 'classifier.onnx'), classifierModel({ classes: 3 }));
  await writeFile(
    join(files, 'padded.onnx'),
    paddedIdentityModel({ graphName: 'padded', paddingBytes: 4096 }),
  );
  await writeFile(join(files, 'external.onnx'), externalDataModel());
  await writeFile(join(files, 'misspelt.json'), JSON.stringify({ lables: ['a', 'b', 'c'] }));
});

after(async () => {
  await test?.stop();
  await rm(files, { recursive: true, force: true });
});

describe('sluice CLI: usage errors exit 2, as the README says, and --json errors are JSON', () => {
  it('refuses an invalid model name with exit 2 before anything is written', async () => {
    const runs = await Promise.all([
      sluice(['publish', join(files, 'identity.onnx'), '--model', 'Not A Name', '--local']),
      sluice(['versions', 'UPPER', '--local']),
      sluice(['show', '../etc', '--local']),
      sluice(['status', 'Iris', '--local']),
      sluice(['deploy', 'iris!', '--version', '2', '--local']),
    ]);
    for (const run of runs) {
      assert.equal(run.code, 2, describeRun(run));
      assert.match(run.stderr, /is not a model name: model names are 1-48 characters/);
    }
    assert.deepEqual(await test.stack.registry.listModels(), ['iris']);
  });

  it('prints commander\'s own refusals as {"error"} on stdout under --json', async () => {
    const runs = await Promise.all([
      sluice(['versions', '--local', '--json']),
      sluice(['models', '--local', '--json', '--frobnicate']),
      sluice(['show', 'Bad', '--local', '--json']),
    ]);
    for (const run of runs) {
      assert.equal(run.code, 2, describeRun(run));
      assert.equal(run.stderr, '', 'nothing but the JSON error');
      const { error } = ErrorSchema.parse(JSON.parse(run.stdout));
      assert.doesNotMatch(error, /^error:/);
    }
    assert.match(
      ErrorSchema.parse(JSON.parse(runs[0]?.stdout ?? '')).error,
      /missing required argument 'model'/,
    );
    assert.match(ErrorSchema.parse(JSON.parse(runs[1]?.stdout ?? '')).error, /unknown option '--frobnicate'/);
  });

  it('refuses --local together with --bucket (or --region) instead of silently using the local stack', async () => {
    const [bucket, region, envBucket] = await Promise.all([
      sluice(['models', '--local', '--bucket', 'x']),
      sluice(['versions', 'iris', '--region', 'eu-west-1', '--local', '--json']),
      runSluiceInProcess(['models', '--local', '--json'], test.home, { SLUICE_BUCKET: 'from-env' }),
    ]);
    assert.equal(bucket.code, 2, describeRun(bucket));
    assert.match(bucket.stderr, /option '--local' cannot be used with option '--bucket <name>'/);
    assert.equal(region.code, 2, describeRun(region));
    assert.match(ErrorSchema.parse(JSON.parse(region.stdout)).error, /'--region <region>'/);
    // A default from the environment is not a second target: --local wins, as documented.
    assert.equal(envBucket.code, 0, describeRun(envBucket));
  });

  it('says what --version needs when its value is missing or not a number (never "got null")', async () => {
    const [missing, word] = await Promise.all([
      sluice(['show', 'iris', '--local', '--version']),
      sluice(['show', 'iris', '--local', '--version', 'two']),
    ]);
    assert.equal(missing.code, 2, describeRun(missing));
    assert.match(missing.stderr, /option '--version <n>' argument missing/);
    assert.equal(word.code, 2, describeRun(word));
    assert.match(word.stderr, /versions are 1, 2, 3, \.\.\.; got "two"/);
    for (const run of [missing, word]) assert.doesNotMatch(run.stderr, /null/);
  });

  it('prints its own version with `sluice --version`, and leaves `--version N` to the commands', async () => {
    const { version } = z
      .object({ version: z.string() })
      .parse(JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')));
    const [long, short, show] = await Promise.all([
      sluice(['--version']),
      sluice(['-V']),
      sluice(['show', 'iris', '--version', '1', '--local', '--json']),
    ]);
    assert.equal(long.code, 0, describeRun(long));
    assert.equal(long.stdout, `${version}\n`);
    assert.equal(short.stdout, `${version}\n`);
    assert.equal(show.code, 0, describeRun(show));
    assert.equal(z.object({ version: z.number() }).parse(JSON.parse(show.stdout)).version, 1);
  });
});

describe('sluice CLI: argument lengths are bounded before onnxruntime loads', () => {
  it('names --description when its value is too long (not the extras file)', async () => {
    for (const length of [MAX_ARGUMENT_CHARS + 1, 20_000]) {
      const run = await sluice([
        'publish',
        join(files, 'identity.onnx'),
        '--model',
        'long',
        '--description',
        'd'.repeat(length),
        '--local',
      ]);
      assert.equal(run.code, 2, describeRun(run));
      assert.match(
        run.stderr,
        new RegExp(`^sluice: the value of --description is ${length} characters long`),
      );
      assert.doesNotMatch(run.stderr, /undefined/);
    }
  });

  it('exits 2 naming --labels for a 30 KB value, where onnxruntime used to crash the process (SIGSEGV)', async (t) => {
    const labels = Array.from({ length: 4000 }, (_, index) => `class${index}`).join(',');
    assert.ok(labels.length > 30_000);
    const run = await runSluice(
      ['publish', join(files, 'identity.onnx'), '--model', 'long', '--labels', labels, '--local'],
      test.home,
      t.signal,
    );
    assert.equal(run.signal, null, describeRun(run));
    assert.equal(run.code, 2, describeRun(run));
    assert.match(run.stderr, /^sluice: the value of --labels is \d+ characters long/);
  });
});

describe('sluice publish: labels must fit the model, extras files must use known keys', () => {
  it('refuses two or five labels for a three-class model, naming --labels and the class count', async () => {
    for (const labels of ['a,b', 'a,b,c,d,e']) {
      const run = await sluice([
        'publish',
        join(files, 'classifier.onnx'),
        '--model',
        'labelled',
        '--labels',
        labels,
        '--local',
      ]);
      assert.equal(run.code, 2, describeRun(run));
      assert.match(
        run.stderr,
        /--labels do not fit .*classifier\.onnx: \d labels given, but output "probabilities" has 3 classes/,
      );
    }
    assert.ok(!(await test.stack.registry.listModels()).includes('labelled'), 'nothing was published');
    const fits = await sluice([
      'publish',
      join(files, 'classifier.onnx'),
      '--model',
      'labelled',
      '--labels',
      'a,b,c',
      '--local',
    ]);
    assert.equal(fits.code, 0, describeRun(fits));
  });

  it('refuses labels for a model without a class output, and the registry refuses them too', async () => {
    const run = await sluice([
      'publish',
      join(files, 'identity.onnx'),
      '--model',
      'unlabelled',
      '--labels',
      'a,b',
      '--local',
    ]);
    assert.equal(run.code, 2, describeRun(run));
    assert.match(run.stderr, /no output of the model is a class index or a row of class scores/);
    await assert.rejects(
      publishVersion(test.stack.registry, {
        name: 'labelled',
        model: classifierModel({ classes: 3 }),
        extras: { labels: ['a', 'b'] },
      }),
      /the labels do not fit the model's outputs: 2 labels given, but output "probabilities" has 3 classes/,
    );
  });

  it('refuses an extras file with an unknown key such as "lables", naming the file and the key', async () => {
    const run = await sluice([
      'publish',
      join(files, 'classifier.onnx'),
      '--model',
      'misspelt',
      '--extras',
      join(files, 'misspelt.json'),
      '--local',
    ]);
    assert.equal(run.code, 2, describeRun(run));
    assert.match(run.stderr, /the extras file .*misspelt\.json is not valid: Unrecognized key: "lables"/);
  });
});

describe('sluice CLI: output for people', () => {
  it('says which version already has the same bytes, in text and in --json', async () => {
    const first = await sluice(['publish', join(files, 'identity.onnx'), '--model', 'twice', '--local']);
    assert.equal(first.code, 0, describeRun(first));
    assert.doesNotMatch(first.stdout, /same bytes/);
    // Other extras make another version of the same bytes: the note names the version that has them.
    const second = await sluice([
      'publish',
      join(files, 'identity.onnx'),
      '--model',
      'twice',
      '--description',
      'again',
      '--local',
    ]);
    assert.equal(second.code, 0, describeRun(second));
    assert.match(second.stdout, /published twice version 2/);
    assert.match(second.stdout, /note: v1 of twice had the same bytes already \(same sha256\)/);
    const third = await sluice([
      'publish',
      join(files, 'identity.onnx'),
      '--model',
      'twice',
      '--description',
      'once more',
      '--local',
      '--json',
    ]);
    assert.deepEqual(
      z
        .object({ version: z.number(), alreadyPublished: z.boolean(), sameBytesAs: z.array(z.number()) })
        .parse(JSON.parse(third.stdout)),
      { version: 3, alreadyPublished: false, sameBytesAs: [1, 2] },
    );
  });

  it('lists versions as a table with a header and human sizes', async () => {
    await writeFile(
      join(files, 'big.onnx'),
      paddedIdentityModel({ graphName: 'big', paddingBytes: 3 * 1024 * 1024 }),
    );
    const published = await sluice(['publish', join(files, 'big.onnx'), '--model', 'sized', '--local']);
    assert.equal(published.code, 0, describeRun(published));
    const run = await sluice(['versions', 'sized', '--local']);
    assert.equal(run.code, 0, describeRun(run));
    const [header, row, ...rest] = run.stdout.trimEnd().split('\n');
    assert.match(header ?? '', /^VERSION {2}CREATED +SIZE {2}SHA256 +DESCRIPTION$/);
    assert.match(row ?? '', /^ {6}1 {2}\d{4}-\d\d-\d\dT[0-9:.]+Z {2}3\.0 MiB {2}[0-9a-f]{12}$/);
    assert.deepEqual(rest, []);
  });

  it('shows a manifest for people without --json, and as JSON with it', async () => {
    const [text, json] = await Promise.all([
      sluice(['show', 'iris', '--local']),
      sluice(['show', 'iris', '--local', '--json']),
    ]);
    assert.equal(text.code, 0, describeRun(text));
    assert.throws(() => JSON.parse(text.stdout));
    assert.match(text.stdout, /^iris version 1\n/);
    assert.match(text.stdout, /labels {7}setosa, versicolor, virginica/);
    assert.match(text.stdout, /KIND +NAME +DATATYPE +SHAPE/);
    assert.match(text.stdout, /input +features +FP32 +\[-1, 4\]/);
    assert.match(text.stdout, /output +probabilities +FP32 +\[-1, 3\]/);
    assert.equal(json.code, 0, describeRun(json));
    assert.equal(z.object({ name: z.literal('iris') }).parse(JSON.parse(json.stdout)).name, 'iris');
  });

  it('refuses a model with external data files saying they are unsupported', async () => {
    const run = await sluice(['publish', join(files, 'external.onnx'), '--model', 'external', '--local']);
    assert.equal(run.code, 1, describeRun(run));
    assert.match(
      run.stderr,
      /external\.onnx: the model keeps 1 tensor\(s\) in external data files \(e\.g\. "weights\.bin"\)/,
    );
    assert.match(run.stderr, /sluice does not support/);
  });

  it("keeps onnxruntime's own log lines off stderr while publishing (a real process)", async (t) => {
    // The padded model has an unused initializer, which onnxruntime warns about from its C++ sources.
    const run = await runSluice(
      ['publish', join(files, 'padded.onnx'), '--model', 'padded', '--local'],
      test.home,
      t.signal,
    );
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(run.stderr, '', describeRun(run));
  });
});

describe('sluice versions: one corrupt manifest does not hide the others', () => {
  it('lists the readable versions and names the bad one with its reason', async () => {
    for (let index = 0; index < 3; index++) {
      // A description of its own each: the same publish again would answer the version it made.
      const run = await sluice([
        'publish',
        join(files, 'identity.onnx'),
        '--model',
        'corrupt',
        '--description',
        `copy ${index + 1}`,
        '--local',
      ]);
      assert.equal(run.code, 0, describeRun(run));
    }
    await test.stack.store.createClient().send(
      new PutObjectCommand({
        Bucket: test.stack.store.bucket,
        Key: versionKey('corrupt', 2, MANIFEST_OBJECT),
        Body: '{"not": "a manifest"',
      }),
    );
    const [text, json] = await Promise.all([
      sluice(['versions', 'corrupt', '--local']),
      sluice(['versions', 'corrupt', '--local', '--json']),
    ]);
    assert.equal(text.code, 0, describeRun(text));
    const rows = text.stdout.trimEnd().split('\n').slice(1);
    assert.equal(rows.length, 3);
    assert.match(rows[1] ?? '', /^ {6}2 {2}- .*unreadable manifest/);
    assert.match(text.stderr, /^sluice: version 2 of corrupt: .*manifest\.json is not JSON\n$/);
    const listed = z
      .object({
        versions: z.array(z.object({ version: z.number() })),
        unreadable: z.array(z.object({ version: z.number(), error: z.string() })),
      })
      .parse(JSON.parse(json.stdout));
    assert.deepEqual(
      listed.versions.map((entry) => entry.version),
      [1, 3],
    );
    assert.deepEqual(
      listed.unreadable.map((entry) => entry.version),
      [2],
    );
  });
});

describe('sluice CLI: a local stack that went away', () => {
  it('says the local stack is not reachable instead of printing a raw ECONNREFUSED', async () => {
    const gone = await startTestStack({ publishSamples: false });
    const { apiUrl } = gone.stack;
    const s3Endpoint = gone.stack.store.endpoint;
    const bucket = gone.stack.store.bucket;
    await gone.stack.stop();
    // As if the stack died without cleaning up: its file is there and names a live process (this one).
    await writeLocalStackInfo(gone.home, {
      apiUrl,
      s3Endpoint,
      bucket,
      pid: process.pid,
      controlToken: gone.stack.controlToken,
    });
    try {
      const [text, json] = await Promise.all([
        runSluiceInProcess(['models', '--local'], gone.home),
        runSluiceInProcess(
          ['publish', join(files, 'identity.onnx'), '--model', 'm', '--local', '--json'],
          gone.home,
        ),
      ]);
      assert.equal(text.code, 1, describeRun(text));
      assert.match(
        text.stderr,
        /^sluice: the local stack is not reachable: it stopped or restarted \(start it again with `npm start`/,
      );
      assert.equal(json.code, 1, describeRun(json));
      assert.match(ErrorSchema.parse(JSON.parse(json.stdout)).error, /local stack is not reachable/);
    } finally {
      await rm(gone.home, { recursive: true, force: true });
    }
  });
});

describe('sluice publish: Ctrl-C during the upload (a real process)', () => {
  it('aborts the multipart upload on SIGINT: its parts are deleted and nothing is published', async (t) => {
    const big = join(files, 'interrupted.onnx');
    await writeFile(
      big,
      paddedIdentityModel({
        graphName: 'interrupted',
        paddingBytes: MULTIPART_THRESHOLD_BYTES + 1024 * 1024,
      }),
    );
    // A proxy in front of the store holds the upload's parts until the CLI, interrupted at its first part, has
    // aborted the upload: no race between the signal and the end of the upload.
    let child: RunningCli | undefined;
    const held: (() => void)[] = [];
    const proxy = createServer((request, response) => {
      const forward = (): void => {
        const upstream = httpForward(
          `${test.stack.store.endpoint}${request.url ?? '/'}`,
          { method: request.method, headers: request.headers },
          (answer) => {
            response.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(response);
          },
        );
        request.pipe(upstream);
      };
      const url = request.url ?? '';
      if (request.method === 'PUT' && url.includes('partNumber=')) {
        held.push(forward);
        if (held.length === 1) child?.child.kill('SIGINT');
        return;
      }
      if (request.method === 'DELETE' && url.includes('uploadId=')) {
        forward();
        response.on('finish', () => {
          for (const release of held.splice(0)) release();
        });
        return;
      }
      forward();
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const home = await mkdtemp(join(tmpdir(), 'sluice-cli-interrupt-'));
    try {
      const { port } = proxy.address() as AddressInfo;
      await writeLocalStackInfo(home, {
        apiUrl: test.url,
        s3Endpoint: `http://127.0.0.1:${port}`,
        bucket: test.stack.store.bucket,
        pid: process.pid,
        controlToken: test.stack.controlToken,
      });
      child = startSluice(['publish', big, '--model', 'interrupted', '--local'], home, t.signal);
      const run = await child.done;
      assert.equal(run.code, 1, describeRun(run));
      assert.match(
        run.stderr,
        /^sluice: publishing model "interrupted" was stopped before version 1 was complete/,
      );
      assert.match(run.stderr, /uploaded parts were deleted and nothing was published/);
      assert.deepEqual(await readdir(join(test.home, 's3', test.stack.store.bucket, '._S3rver_uploads')), []);
      await assert.rejects(test.stack.registry.listVersions('interrupted'), /unknown model "interrupted"/);
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      await rm(home, { recursive: true, force: true });
    }
  });
});
