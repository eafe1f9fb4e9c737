import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkExamples } from '../../lib/tools/check-examples.js';
import { PROJECT_ROOT } from '../fixtures/sluice-cli.js';

/** A throwaway project with the real compiler options and node_modules, holding the given lib/ files. */
function projectWith(files: Readonly<Record<string, string>>): string {
  const root = mkdtempSync(join(tmpdir(), 'sluice-tsdoc-'));
  for (const name of ['tsconfig.json', 'package.json'])
    copyFileSync(join(PROJECT_ROOT, name), join(root, name));
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** The 1-based line of `text` that contains `needle`. */
function lineOf(text: string, needle: string): number {
  const index = text.split('\n').findIndex((line) => line.includes(needle));
  assert.notEqual(index, -1, `no line contains ${needle}`);
  return index + 1;
}

const UNITS = `/** Options of {@link scale}. */
export interface ScaleOptions {
  readonly factor: number;
}

/**
 * Adds two lengths.
 *
 * @example
 * add(1, 2, 3);
 */
export function add(a: number, b: number): number {
  return a + b;
}

/**
 * Scales a length.
 *
 * @example
 * scale(2, { factr: 3 });
 * @returns the scaled length
 */
export function scale(length: number, options: ScaleOptions): number {
  return length * options.factor;
}

/**
 * A length in metres, as text.
 *
 * @example
 * const total = add(meters, scale(1, { factor: 2 })); // meters: the reader's
 * console.log(metres(total));
 */
export function metres(length: number): string {
  return \`\${length} m\`;
}
`;

const REPORT = `/**
 * A line of a report.
 *
 * @example
 * reportLine('width', add('1', 2));
 */
export function reportLine(label: string, value: number): string {
  return \`\${label}: \${value}\`;
}

/**
 * A report's title.
 *
 * @example
 * @returns the title, upper-cased
 */
export function title(text: string): string {
  return text.toUpperCase();
}
`;

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describe('TSDoc examples: every @example of lib/ compiles against the code it documents', () => {
  it('the examples of lib/ as they are have no problem', async () => {
    const { checked, problems } = await checkExamples(PROJECT_ROOT);
    assert.deepEqual(problems, []);
    assert.ok(checked > 100, `only ${checked} examples found`);
  });

  it('reports a wrong argument count, a misspelt option, a wrong type and an empty example, at their lines', async () => {
    const root = projectWith({ 'lib/core/units.ts': UNITS, 'lib/core/report.ts': REPORT });
    roots.push(root);
    const { checked, problems } = await checkExamples(root);
    assert.equal(checked, 5);
    assert.equal(problems.length, 4, problems.join('\n'));
    const [wrongType, empty, wrongCount, misspelt] = problems;
    // A name of another lib/ module (`add`, exported by units.ts only) is imported, so its types are checked.
    assert.match(
      wrongType ?? '',
      new RegExp(
        `^lib/core/report\\.ts:${lineOf(REPORT, "add('1'")}:\\d+: Argument of type 'string'.*\\(TS2345\\)$`,
      ),
    );
    assert.equal(empty, `lib/core/report.ts:${lineOf(REPORT, '@returns') - 1}:1: an @example with no code`);
    assert.match(
      wrongCount ?? '',
      new RegExp(
        `^lib/core/units\\.ts:${lineOf(UNITS, 'add(1, 2, 3)')}:\\d+: Expected 2 arguments, but got 3\\.`,
      ),
    );
    assert.match(
      misspelt ?? '',
      new RegExp(
        `^lib/core/units\\.ts:${lineOf(UNITS, 'factr')}:\\d+: .*'factr' does not exist in type 'ScaleOptions'`,
      ),
    );
  });
});
