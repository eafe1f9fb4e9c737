import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signingScopeOf } from '../../lib/cli/sigv4-request.js';
import { sigV4Refusal } from '../fixtures/sigv4-check.js';
import { runSluiceInProcess } from '../fixtures/sluice-cli.js';

/** The caller's keys, as the CLI's environment gives them (AWS's documented example key pair). */
const KEYS = {
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
} as const;

/** 2026-12-03T06:00:00Z: the signing time, injected through the CLI's clock. */
const NOW = Date.UTC(2026, 11, 3, 6);

describe('sluice predict --sigv4: signs as an AWS SDK client does, for the scope of the endpoint', () => {
  let home: string;
  let server: Server;
  let base: string;
  /** What the fake API Gateway checked of each request: undefined when the signature verified. */
  const refusals: (string | undefined)[] = [];

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'sluice-sigv4-'));
    // A stand-in for API Gateway with IAM auth: it recomputes the signature as AWS does, 403 unless it verifies.
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const refusal = sigV4Refusal(
          {
            method: request.method ?? 'POST',
            path: request.url ?? '/',
            headers: request.headers as Record<string, string>,
            body: Buffer.concat(chunks),
          },
          {
            service: 'execute-api',
            region: 'eu-west-1',
            accessKeyId: KEYS.AWS_ACCESS_KEY_ID,
            secretAccessKey: KEYS.AWS_SECRET_ACCESS_KEY,
          },
        );
        refusals.push(refusal);
        response.writeHead(refusal === undefined ? 200 : 403, { 'content-type': 'application/json' });
        response.end(
          refusal === undefined
            ? '{"model":"iris","version":1,"predictions":[{"label":"setosa"}]}'
            : JSON.stringify({ message: 'Missing Authentication Token' }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(home, { recursive: true, force: true });
  });

  const predict = (...extra: string[]) =>
    runSluiceInProcess(
      ['predict', 'iris', '--url', base, '--rows', '[[5.1,3.5,1.4,0.2]]', ...extra],
      home,
      KEYS,
      { now: () => NOW },
    );

  it('a signed request verifies at the fake API Gateway and prints the answer', async () => {
    const run = await predict('--sigv4', '--service', 'execute-api', '--region', 'eu-west-1');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /setosa/);
    assert.equal(refusals.at(-1), undefined);
  });

  it('unsigned, or signed for another service or region, is refused as AWS refuses it', async () => {
    const unsigned = await predict();
    assert.equal(unsigned.code, 1);
    assert.equal(refusals.at(-1), 'no SigV4 Authorization header');
    const lambda = await predict('--sigv4', '--service', 'lambda', '--region', 'eu-west-1');
    assert.equal(lambda.code, 1);
    assert.equal(refusals.at(-1), 'signed for the service lambda, not execute-api');
    const region = await predict('--sigv4', '--service', 'execute-api', '--region', 'us-east-1');
    assert.equal(refusals.at(-1), 'signed for the region us-east-1, not eu-west-1');
    assert.equal(region.code, 1);
  });

  it('reads the scope from an AWS endpoint, and asks for it on any other host', async () => {
    assert.deepEqual(signingScopeOf(new URL('https://abc123.execute-api.eu-west-1.amazonaws.com/prod')), {
      service: 'execute-api',
      region: 'eu-west-1',
    });
    assert.deepEqual(signingScopeOf(new URL('https://xyz789.lambda-url.us-east-2.on.aws/')), {
      service: 'lambda',
      region: 'us-east-2',
    });
    assert.equal(signingScopeOf(new URL('https://ml.example.com/')), undefined);
    const run = await predict('--sigv4');
    assert.equal(run.code, 2, 'a usage error');
    assert.match(run.stderr, /--sigv4 cannot tell the service and region of 127\.0\.0\.1:\d+/);
  });
});
