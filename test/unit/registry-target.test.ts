import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { UsageError } from '../../lib/cli/exit-codes.js';
import { resolveRegistryTarget } from '../../lib/cli/registry-target.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** The variables the SDK's region chain reads from the process environment. */
const REGION_VARIABLES = [
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_PROFILE',
  'AWS_CONFIG_FILE',
  'AWS_SDK_LOAD_CONFIG',
];

const scratch = mkdtempSync(join(tmpdir(), 'sluice-region-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('resolveRegistryTarget: the region as the AWS CLI finds it', () => {
  let saved: Record<string, string | undefined>;

  beforeEach(() => {
    saved = Object.fromEntries(REGION_VARIABLES.map((name) => [name, process.env[name]]));
    for (const name of REGION_VARIABLES) delete process.env[name];
    // No real ~/.aws/config can leak in: the chain reads only this empty file unless a test writes one.
    const empty = join(scratch, 'empty-config');
    writeFileSync(empty, '');
    process.env.AWS_CONFIG_FILE = empty;
  });

  afterEach(() => {
    for (const name of REGION_VARIABLES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('takes --region first, then AWS_REGION, then AWS_DEFAULT_REGION', async () => {
    const env = { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'ap-south-1' };
    assert.equal(
      (await resolveRegistryTarget({ bucket: 'b', region: 'us-west-2' }, env)).region,
      'us-west-2',
    );
    assert.equal((await resolveRegistryTarget({ bucket: 'b' }, env)).region, 'eu-west-1');
    assert.equal(
      (await resolveRegistryTarget({ bucket: 'b' }, { AWS_DEFAULT_REGION: 'ap-south-1' })).region,
      'ap-south-1',
    );
  });

  it("reads the region of the user's AWS profile when the environment names none", async () => {
    const config = join(scratch, 'config');
    writeFileSync(config, '[default]\nregion = us-east-2\n\n[profile dev]\nregion = eu-central-1\n');
    process.env.AWS_CONFIG_FILE = config;
    process.env.AWS_PROFILE = 'dev';
    const target = await resolveRegistryTarget({ bucket: 'b' }, {});
    assert.equal(target.region, 'eu-central-1');
    assert.equal(await (await target.objects.opened()).client.config.region(), 'eu-central-1');
  });

  it('follows S3 region redirects, so a bucket elsewhere is still reached', async () => {
    const target = await resolveRegistryTarget({ bucket: 'b', region: 'us-east-1' }, {});
    assert.equal((await target.objects.opened()).client.config.followRegionRedirects, true);
  });

  it('refuses to guess when no region is set anywhere, saying how to set one', async () => {
    await assert.rejects(
      resolveRegistryTarget({ bucket: 'b' }, {}),
      (error: unknown) =>
        error instanceof UsageError && /no AWS region: pass --region, set AWS_REGION/.test(error.message),
    );
  });
});
