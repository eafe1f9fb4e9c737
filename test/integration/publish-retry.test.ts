import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpForward, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as z from 'zod';
import type { PublishExtras } from '../../lib/core/manifest/ModelManifest.js';
import { writeLocalStackInfo } from '../../lib/local/local-home.js';
import { readModelSignature } from '../../lib/publish/read-model-signature.js';
import { startTestStack, type TestStack } from '../fixtures/local-stack.js';
import { classifierModel, paddedIdentityModel } from '../fixtures/models.js';
import { describeRun, runSluiceInProcess } from '../fixtures/sluice-cli.js';

/** What `sluice publish --json` prints, the parts these tests read. */
const PublishJsonSchema = z.object({
  model: z.string(),
  version: z.number(),
  alreadyPublished: z.boolean(),
  sameBytesAs: z.array(z.number()),
});

let test: TestStack;
let files: string;

before(async () => {
  test = await startTestStack({ publishSamples: false });
  files = await mkdtemp(join(tmpdir(), 'sluice-publish-retry-'));
  await writeFile(join(files, 'model.onnx'), paddedIdentityModel({ graphName: 'retried' }));
  await writeFile(join(files, 'other.onnx'), paddedIdentityModel({ graphName: 'other' }));
  await writeFile(join(files, 'extras.json'), JSON.stringify({ labels: ['a', 'b', 'c', 'd'] }));
});

after(async () => {
  await test?.stop();
  await rm(files, { recursive: true, force: true });
});

/** `sluice ARGS` in this process against the test stack. */
function sluice(args: readonly string[], home = test.home) {
  return runSluiceInProcess(args, home);
}

/**
 * A proxy in front of the test stack's embedded store that forwards everything, but loses the answer to the
 * first manifest PUT after forwarding it (the manifest is written, the publisher never hears so): it closes the
 * publisher's connection, and with `thenGone` stops listening too, as a killed local stack does.
 */
async function answerLosingProxy(options: {
  thenGone: boolean;
}): Promise<{ home: string; close: () => Promise<void> }> {
  let lost = false;
  const proxy: Server = createServer((request: IncomingMessage, response) => {
    const path = new URL(request.url ?? '/', 'http://proxy').pathname;
    const losesAnswer = !lost && request.method === 'PUT' && path.endsWith('/manifest.json');
    if (losesAnswer) lost = true;
    const upstream = httpForward(
      `${test.stack.store.endpoint}${request.url ?? '/'}`,
      { method: request.method, headers: request.headers },
      (answer) => {
        if (losesAnswer) {
          answer.resume();
          request.socket.destroy();
          if (options.thenGone) {
            proxy.close();
            proxy.closeAllConnections();
          }
          return;
        }
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const home = await mkdtemp(join(tmpdir(), 'sluice-publish-proxy-'));
  const { port } = proxy.address() as AddressInfo;
  await writeLocalStackInfo(home, {
    apiUrl: test.url,
    s3Endpoint: `http://127.0.0.1:${port}`,
    bucket: test.stack.store.bucket,
    pid: process.pid,
    controlToken: test.stack.controlToken,
  });
  return {
    home,
    close: async () => {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      await rm(home, { recursive: true, force: true });
    },
  };
}

describe('sluice publish: a retry after a lost answer returns the version it already wrote', () => {
  it('the stack went away after the manifest was written: exit 1, and the retry answers that version (text and --json)', async () => {
    const proxy = await answerLosingProxy({ thenGone: true });
    const args = [
      'publish',
      join(files, 'model.onnx'),
      '--model',
      'lost',
      '--extras',
      join(files, 'extras.json'),
    ];
    try {
      const killed = await sluice([...args, '--local'], proxy.home);
      assert.equal(killed.code, 1, describeRun(killed));
      assert.match(killed.stderr, /the local stack is not reachable/);
    } finally {
      await proxy.close();
    }
    assert.deepEqual(await test.stack.registry.listVersions('lost'), [1], 'the manifest was written');

    const retried = await sluice([...args, '--local']);
    assert.equal(retried.code, 0, describeRun(retried));
    assert.match(
      retried.stdout,
      /^already published: lost version 1 on local stack \(http:\/\/127\.0\.0\.1:\d+\) has these bytes and extras \(published [0-9T:.-]+Z\); nothing was written\n/,
    );
    assert.doesNotMatch(
      retried.stdout,
      /same bytes/,
      'the version it answers is not "another" with the same bytes',
    );
    const json = await sluice([...args, '--local', '--json']);
    assert.equal(json.code, 0, describeRun(json));
    assert.deepEqual(PublishJsonSchema.parse(JSON.parse(json.stdout)), {
      model: 'lost',
      version: 1,
      alreadyPublished: true,
      sameBytesAs: [],
    });
    assert.deepEqual(await test.stack.registry.listVersions('lost'), [1], 'no other version was made');
  });

  it("the connection dropped once: the SDK's retry of the manifest finds its own write, not a conflict", async () => {
    const proxy = await answerLosingProxy({ thenGone: false });
    try {
      const run = await sluice(
        ['publish', join(files, 'model.onnx'), '--model', 'dropped', '--local', '--json'],
        proxy.home,
      );
      assert.equal(run.code, 0, describeRun(run));
      assert.deepEqual(PublishJsonSchema.parse(JSON.parse(run.stdout)), {
        model: 'dropped',
        version: 1,
        alreadyPublished: false,
        sameBytesAs: [],
      });
    } finally {
      await proxy.close();
    }
    assert.deepEqual(await test.stack.registry.listVersions('dropped'), [1]);
  });

  it('a publish that differs from the newest version in bytes, labels, description or reference set is a new version', async () => {
    const base = ['publish', join(files, 'model.onnx'), '--model', 'varied', '--local', '--json'];
    const reference = join(files, 'reference.jsonl');
    await writeFile(reference, '[1, 2, 3, 4]\n');
    const runs = [
      base,
      [...base, '--labels', 'a,b,c,d'],
      [...base, '--labels', 'd,c,b,a'],
      [...base, '--labels', 'd,c,b,a', '--description', 'reversed'],
      [...base, '--labels', 'd,c,b,a', '--description', 'reversed', '--reference', reference],
      ['publish', join(files, 'other.onnx'), '--model', 'varied', '--local', '--json'],
    ];
    const versions: number[] = [];
    for (const args of runs) {
      const run = await sluice(args);
      assert.equal(run.code, 0, describeRun(run));
      const summary = PublishJsonSchema.parse(JSON.parse(run.stdout));
      assert.equal(summary.alreadyPublished, false, args.join(' '));
      versions.push(summary.version);
    }
    assert.deepEqual(versions, [1, 2, 3, 4, 5, 6]);
  });

  it('looks at the newest version only: the bytes and extras of an older one make a new version, noted as the same bytes', async () => {
    const first = ['publish', join(files, 'model.onnx'), '--model', 'older', '--local', '--json'];
    const second = ['publish', join(files, 'other.onnx'), '--model', 'older', '--local', '--json'];
    const outcomes = [];
    for (const args of [first, second, first, first]) {
      const run = await sluice(args);
      assert.equal(run.code, 0, describeRun(run));
      outcomes.push(PublishJsonSchema.parse(JSON.parse(run.stdout)));
    }
    assert.deepEqual(
      outcomes.map(({ version, alreadyPublished, sameBytesAs }) => ({
        version,
        alreadyPublished,
        sameBytesAs,
      })),
      [
        { version: 1, alreadyPublished: false, sameBytesAs: [] },
        { version: 2, alreadyPublished: false, sameBytesAs: [] },
        { version: 3, alreadyPublished: false, sameBytesAs: [1] },
        // Now v3 is the newest, and this publish is v3 again.
        { version: 3, alreadyPublished: true, sameBytesAs: [1] },
      ],
    );
  });
});

describe('ModelRegistry.publishOnce: the same publish as the newest version writes nothing', () => {
  it('returns the newest manifest itself when bytes, labels, description and golden examples agree, and publish() always makes one', async () => {
    const bytes = classifierModel({ classes: 3, seed: 7 });
    const signature = readModelSignature(bytes);
    const extras: PublishExtras = { labels: ['x', 'y', 'z'], description: 'seven' };
    const { registry } = test.stack;
    const first = await registry.publishOnce({ name: 'once', bytes, signature, extras });
    const again = await registry.publishOnce({ name: 'once', bytes, signature, extras: { ...extras } });
    assert.equal(first.alreadyPublished, false);
    assert.deepEqual(again, { manifest: first.manifest, alreadyPublished: true });
    const forced = await registry.publish({ name: 'once', bytes, signature, extras });
    assert.equal(forced.version, 2, 'publish() is never idempotent: tools that want a copy get one');
    const reordered = await registry.publishOnce({
      name: 'once',
      bytes,
      signature,
      extras: { ...extras, labels: ['z', 'y', 'x'] },
    });
    assert.deepEqual([reordered.alreadyPublished, reordered.manifest.version], [false, 3]);
  });
});
