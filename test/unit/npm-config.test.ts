import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../fixtures/sluice-cli.js';

/** The project's .npmrc as key/value pairs. */
function npmrc(): Map<string, string> {
  const entries = readFileSync(join(PROJECT_ROOT, '.npmrc'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith(';'))
    .map((line) => {
      const equals = line.indexOf('=');
      return [line.slice(0, equals).trim(), line.slice(equals + 1).trim()] as const;
    });
  return new Map(entries);
}

describe('.npmrc: installs skip the CUDA download without npm warnings', () => {
  it("skips install scripts with npm's own ignore-scripts, so onnxruntime-node never downloads CUDA libraries", () => {
    assert.equal(npmrc().get('ignore-scripts'), 'true');
  });

  it('holds only settings npm knows: an unknown key such as onnxruntime-node-install makes every npm command warn', () => {
    for (const key of npmrc().keys()) assert.ok(['ignore-scripts', 'fund', 'audit'].includes(key), key);
  });
});
