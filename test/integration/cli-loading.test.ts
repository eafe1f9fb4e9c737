import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command, Help } from 'commander';
import { CLI_COMMANDS, commandOf } from '../../lib/cli/cli-commands.js';
import { planRollout } from '../../lib/core/rollout/plan-rollout.js';
import { startTestStack, type TestStack } from '../fixtures/local-stack.js';
import { PROJECT_ROOT } from '../fixtures/sluice-cli.js';

/** Packages a command that does not use them must not load. */
const HEAVY_PACKAGES =
  /\/node_modules\/(@aws-sdk|@smithy|onnxruntime-node|onnx-proto|protobufjs|cli-progress)\//;

/** The project's own Node (module.registerHooks needs 22.15 or later), else this one. */
function projectNode(): string {
  const installed = join(PROJECT_ROOT, 'node_modules', '.bin', 'node');
  return existsSync(installed) ? installed : process.execPath;
}

/**
 * The node_modules packages `sluice ARGS` loads, run through runCli in a fresh process under a resolve hook (spawned
 * asynchronously: the local stack it may ask lives in this process).
 */
async function packagesLoadedBy(
  args: readonly string[],
  home: string,
): Promise<{ packages: string[]; code: number }> {
  const probe = `
    import { registerHooks } from 'node:module';
    const loaded = [];
    registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); loaded.push(result.url); return result; } });
    const { runCli } = await import(${JSON.stringify(join(PROJECT_ROOT, 'lib', 'cli', 'run-cli.ts'))});
    const code = await runCli(${JSON.stringify(args)}, { stdout: () => {}, stderr: (text) => process.stderr.write(text), interactive: false, env: { SLUICE_HOME: ${JSON.stringify(home)} } });
    process.stdout.write(JSON.stringify({ loaded, code }));
  `;
  const child = spawn(projectNode(), ['--import', 'tsx', '--input-type=module', '-e', probe], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const status = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  assert.equal(status, 0, stderr);
  const { loaded, code } = JSON.parse(stdout) as { loaded: string[]; code: number };
  assert.equal(code, 0, `sluice ${args.join(' ')} exited ${code}: ${stderr}`);
  const packages = [
    ...new Set(
      loaded.flatMap((url) => {
        const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
        return match?.[1] ? [match[1]] : [];
      }),
    ),
  ].sort();
  return { packages, code };
}

let test: TestStack;
before(async () => {
  test = await startTestStack();
  // Deployed, so `status` has a state to show and no reason to read the registry.
  await test.stack
    .rolloutEngine('test')
    .deploy('iris', { version: 1, plan: planRollout({ strategy: 'all-at-once' }) });
});
after(async () => {
  await test?.stop();
});

describe('the CLI loads only what a command uses', () => {
  it('--version and --help load commander and nothing else of node_modules', async () => {
    for (const args of [['--version'], ['--help']]) {
      const { packages } = await packagesLoadedBy(args, test.home);
      assert.deepEqual(
        packages.filter((name) => name !== 'tsx'),
        ['commander'],
        `${args.join(' ')} loaded ${packages.join(', ')}`,
      );
    }
  });

  it('status --local of a deployed model loads no AWS SDK, no onnxruntime and no ONNX parser', async () => {
    const { packages } = await packagesLoadedBy(['status', 'iris', '--local'], test.home);
    assert.deepEqual(
      packages.filter((name) => HEAVY_PACKAGES.test(`/node_modules/${name}/`)),
      [],
      `status --local loaded ${packages.join(', ')}`,
    );
  });

  it('batch loads no Step Functions SDK until a run is on AWS (--local runs never need it)', async () => {
    const { packages } = await packagesLoadedBy(['batch', '--help'], test.home);
    assert.deepEqual(
      packages.filter((name) => name.startsWith('@aws-sdk/')),
      [],
      `batch --help loaded ${packages.join(', ')}`,
    );
  });

  it('publish loads the ONNX parser: the command that needs it still gets it', async () => {
    const { packages } = await packagesLoadedBy(['publish', '--help'], test.home);
    assert.ok(packages.includes('onnx-proto'), packages.join(', '));
  });
});

describe('the command list: every entry is what its module registers', () => {
  for (const entry of CLI_COMMANDS) {
    it(`${entry.name}: usage and summary match the command`, async () => {
      const program = new Command('sluice');
      (await entry.load())(program, {
        stdout: () => undefined,
        stderr: () => undefined,
        interactive: false,
        env: {},
      });
      const command = program.commands.find((candidate) => candidate.name() === entry.name);
      assert.ok(command, `${entry.name}'s module registers no ${entry.name} command`);
      assert.equal(new Help().subcommandTerm(command), `${entry.name} ${entry.usage}`);
      assert.equal(command.description(), entry.summary);
    });
  }

  it('finds the command a command line runs, also behind `help`', () => {
    assert.equal(commandOf(['status', 'iris', '--local'])?.name, 'status');
    assert.equal(commandOf(['help', 'deploy'])?.name, 'deploy');
    assert.equal(commandOf(['--version']), undefined);
    assert.equal(commandOf(['frobnicate', 'status']), undefined);
  });
});
