import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as z from 'zod';
import { HOME_LOCK_FILE, HomeInUseError, HomeLockContentSchema } from '../../lib/local/HomeLock.js';
import { LocalStack } from '../../lib/local/LocalStack.js';
import { readLocalStackInfo } from '../../lib/local/local-home.js';
import { bodyOf, silentLogger, startTestStack, type TestStack } from '../fixtures/local-stack.js';
import { describeRun, PROJECT_ROOT, runSluiceInProcess } from '../fixtures/sluice-cli.js';

let first: TestStack;

before(async () => {
  first = await startTestStack({ publishSamples: false });
});

after(async () => {
  await first?.stop();
});

describe('LocalStack: one stack per data folder', () => {
  it("refuses a second stack on the same SLUICE_HOME, naming the running one, and leaves the first one's files alone", async () => {
    await assert.rejects(
      LocalStack.start({ home: first.home, port: 0, publishSamples: false, logger: silentLogger() }),
      (error: unknown) => {
        assert.ok(error instanceof HomeInUseError, String(error));
        assert.match(
          error.message,
          new RegExp(
            `another local stack \\(pid ${process.pid}, .*already uses the data folder ${first.home}`,
          ),
        );
        return true;
      },
    );
    assert.equal((await readLocalStackInfo(first.home))?.apiUrl, first.url);
    const live = await first.request('GET', '/v2/health/live');
    assert.equal(live.status, 200);
    const models = await runSluiceInProcess(['models', '--local', '--json'], first.home);
    assert.equal(models.code, 0, describeRun(models));
  });

  it('refuses a second `npm start` on the same data folder with exit 1 and a clear message (a real process)', async (t) => {
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bin/local.ts'], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, SLUICE_HOME: first.home, PORT: '0', NODE_TEST_CONTEXT: undefined },
        stdio: ['ignore', 'ignore', 'pipe'],
        // Ends with the test (cancelled or timed out by the runner), not after a time of its own.
        signal: t.signal,
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /^sluice: could not start the local stack: another local stack \(pid \d+/);
    assert.match(run.stderr, /one stack per data folder/);
    assert.equal(
      (await readLocalStackInfo(first.home))?.apiUrl,
      first.url,
      'the first stack is still the one found',
    );
  });

  it('takes over the lock of a stack that was killed, and gives it up at stop', async () => {
    const home = await mkdtemp(join(tmpdir(), 'sluice-stale-lock-'));
    try {
      // A process that has exited: its pid is free, as a killed stack's is.
      const dead = spawnSync(process.execPath, ['-e', '']).pid;
      await writeFile(join(home, HOME_LOCK_FILE), JSON.stringify({ pid: dead, startedAt: 'earlier' }));
      const stack = await LocalStack.start({ home, port: 0, publishSamples: false, logger: silentLogger() });
      const lock = HomeLockContentSchema.parse(
        JSON.parse(await readFile(join(home, HOME_LOCK_FILE), 'utf8')),
      );
      assert.equal(lock.pid, process.pid);
      await stack.stop();
      await assert.rejects(readFile(join(home, HOME_LOCK_FILE)), { code: 'ENOENT' });
      const again = await LocalStack.start({ home, port: 0, publishSamples: false, logger: silentLogger() });
      await again.stop();
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe('LocalStack: GET /v2', () => {
  it("reports sluice's version from package.json", async () => {
    const { version } = z
      .object({ version: z.string() })
      .parse(JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')));
    const reply = await first.request('GET', '/v2');
    assert.equal(reply.status, 200, reply.text);
    assert.equal(
      bodyOf(reply, z.object({ name: z.literal('sluice'), version: z.string() })).version,
      version,
    );
  });
});
