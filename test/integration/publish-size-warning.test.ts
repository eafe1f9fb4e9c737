import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAX_AWS_REQUEST_BYTES, MAX_REQUEST_BYTES } from '../../lib/core/contract/limits.js';
import { requestSizeProblems } from '../../lib/core/contract/request-size.js';
import { publishModel } from '../../lib/publish/publish-model.js';
import { startTestStack, type TestStack } from '../fixtures/local-stack.js';
import { identityModel } from '../fixtures/models.js';

let test: TestStack;
let files: string;

before(async () => {
  test = await startTestStack({ publishSamples: false });
  files = await mkdtemp(join(tmpdir(), 'sluice-size-'));
});

after(async () => {
  await test?.stop();
  await rm(files, { recursive: true, force: true });
});

async function publishWarnings(name: string, shape: number[], datatype: 'FP32' | 'UINT8' = 'FP32') {
  const file = join(files, `${name}.onnx`);
  await writeFile(file, identityModel(datatype, shape));
  const warnings: string[] = [];
  const { manifest } = await publishModel(test.stack.registry, {
    file,
    model: name,
    onWarning: (message) => warnings.push(message),
  });
  return { manifest, warnings };
}

describe('sluice publish: warns when one request for the model cannot fit, and still publishes', () => {
  it('a fixed 1x3x1024x1024 FP32 input: no encoding fits on AWS; the warning names the limit and the way round', async () => {
    const { manifest, warnings } = await publishWarnings('segmenter', [1, 3, 1024, 1024]);
    assert.equal(manifest.version, 1, 'published all the same');
    assert.equal(warnings.length, 1);
    const [warning] = warnings as [string];
    assert.match(warning, /^model "segmenter": one request needs at least 12582912 bytes of input/);
    assert.match(warning, new RegExp(`on AWS a request carries at most ${MAX_AWS_REQUEST_BYTES} bytes`));
    assert.match(warning, /Lambda's 6 MB payload, base64-encoded by API Gateway/);
    assert.match(warning, /UINT8 or FP16 pixels instead of FP32/);
  });

  it('a fixed 1x3x640x640 FP32 input (4.9 MB): too big for AWS even as binary, fits locally', async () => {
    const { warnings } = await publishWarnings('detector', [1, 3, 640, 640]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /at least 4915200 bytes .* locally it fits as binary tensors/);
  });

  it('a fixed 1x3x1400x1000 UINT8 input: fits only as binary tensors, and says so', async () => {
    const { warnings } = await publishWarnings('camera', [1, 3, 1400, 1000], 'UINT8');
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0] ?? '',
      /over the \d+ bytes a body may have on AWS \(\d+ locally\): send binary tensors .* 4200000 bytes, instead/,
    );
  });

  it('small or dynamic inputs: no warning', async () => {
    assert.deepEqual((await publishWarnings('small', [-1, 4])).warnings, []);
    assert.deepEqual((await publishWarnings('pixels', [1, 3, 640, 640], 'UINT8')).warnings, []);
  });

  it('judges by the fixed dimensions, a dynamic one counting as 1, and notes when it fits locally', () => {
    assert.deepEqual(requestSizeProblems([{ name: 'x', datatype: 'FP32', shape: [-1, 1024] }]), []);
    const [local] = requestSizeProblems([{ name: 'x', datatype: 'FP32', shape: [1, 1280, 1024] }]);
    assert.ok(1280 * 1024 * 4 <= MAX_REQUEST_BYTES);
    assert.match(local ?? '', /locally it fits as binary tensors/);
  });
});
