import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../fixtures/sluice-cli.js';

// tsx runs the sources without checking their types; this is the check, as `tsc --noEmit` (npm run typecheck). A
// test file of its own, so the runner schedules it beside the others instead of before them all.
it('the whole project type-checks (tsc --noEmit -p tsconfig.json)', async () => {
  const tsc = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const run = await promisify(execFile)(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.json'], {
    cwd: PROJECT_ROOT,
    maxBuffer: 64 * 1024 * 1024,
  }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code?: number; stdout?: string }) => ({ code: error.code ?? 1, stdout: error.stdout ?? '' }),
  );
  assert.equal(run.code, 0, `tsc found type errors:\n${run.stdout}`);
});
