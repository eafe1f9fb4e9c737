import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as z from 'zod';
import { freshCliBundle } from '../../lib/cli/cli-bundle.mjs';
import { PROJECT_ROOT } from '../fixtures/sluice-cli.js';

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A project of two modules: `main.ts` prints what `words.ts` exports, and where `main.ts` thinks it is. */
function project(words: string): { root: string; cacheDir: string } {
  const root = mkdtempSync(join(tmpdir(), 'sluice-cli-bundle-'));
  roots.push(root);
  writeFileSync(
    join(root, 'main.ts'),
    [
      "import { words } from './words.js';",
      "process.stdout.write(words + ' ' + new URL('.', import.meta.url).pathname);",
      '',
    ].join('\n'),
  );
  writeFileSync(join(root, 'words.ts'), `export const words: string = '${words}';\n`);
  writeFileSync(join(root, 'package.json'), '{"name":"p","version":"1.0.0","type":"module"}\n');
  return { root, cacheDir: join(root, 'cache') };
}

/** Runs a bundle in a fresh process; what it printed. */
function run(path: string): string {
  const result = spawnSync(process.execPath, [path], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

describe('the CLI bundle: a stale build never runs', () => {
  it('builds once, then runs the same build while no input changed', async () => {
    const { root, cacheDir } = project('one');
    const first = await freshCliBundle({ root, entry: 'main.ts', cacheDir });
    assert.equal(first.built, true);
    const second = await freshCliBundle({ root, entry: 'main.ts', cacheDir });
    assert.deepEqual(second, { path: first.path, built: false });
    // Each module keeps its own import.meta.url: files beside a source are found where they are, not in the cache.
    assert.equal(run(second.path), `one ${root}/`);
  });

  it('builds again after a change to an imported module, and the new build runs the change', async () => {
    const { root, cacheDir } = project('one');
    await freshCliBundle({ root, entry: 'main.ts', cacheDir });
    writeFileSync(join(root, 'words.ts'), "export const words: string = 'two';\n");
    const next = await freshCliBundle({ root, entry: 'main.ts', cacheDir });
    assert.equal(next.built, true);
    assert.match(run(next.path), /^two /);
  });

  it('builds again after a change that keeps the size and the modification time (ctime moves)', async () => {
    const { root, cacheDir } = project('one');
    await freshCliBundle({ root, entry: 'main.ts', cacheDir });
    const words = join(root, 'words.ts');
    const before = statSync(words);
    writeFileSync(words, "export const words: string = 'six';\n");
    utimesSync(words, before.atime, before.mtime);
    assert.equal(statSync(words).size, before.size);
    const next = await freshCliBundle({ root, entry: 'main.ts', cacheDir });
    assert.equal(next.built, true);
    assert.match(run(next.path), /^six /);
  });

  it('does not build again when a file is only touched (same bytes)', async () => {
    const { root, cacheDir } = project('one');
    const first = await freshCliBundle({ root, entry: 'main.ts', cacheDir });
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(root, 'words.ts'), later, later);
    assert.deepEqual(await freshCliBundle({ root, entry: 'main.ts', cacheDir }), {
      path: first.path,
      built: false,
    });
  });

  it('builds again when package.json changes (dependencies and the version live there)', async () => {
    const { root, cacheDir } = project('one');
    await freshCliBundle({ root, entry: 'main.ts', cacheDir });
    writeFileSync(join(root, 'package.json'), '{"name":"p","version":"1.0.1","type":"module"}\n');
    assert.equal((await freshCliBundle({ root, entry: 'main.ts', cacheDir })).built, true);
  });

  it('builds again when the build was deleted or its record is unreadable', async () => {
    const { root, cacheDir } = project('one');
    const first = await freshCliBundle({ root, entry: 'main.ts', cacheDir });
    rmSync(first.path);
    assert.equal((await freshCliBundle({ root, entry: 'main.ts', cacheDir })).built, true);
    writeFileSync(join(cacheDir, 'latest.json'), '{"key": 4');
    assert.equal((await freshCliBundle({ root, entry: 'main.ts', cacheDir })).built, true);
  });

  it("gives a dynamic import of a CommonJS package its named exports, as Node's own import does", async () => {
    const { root, cacheDir } = project('one');
    mkdirSync(join(root, 'node_modules', 'legacy'), { recursive: true });
    writeFileSync(
      join(root, 'node_modules', 'legacy', 'package.json'),
      '{"name":"legacy","main":"index.js"}\n',
    );
    writeFileSync(join(root, 'node_modules', 'legacy', 'index.js'), "exports.greet = () => 'hello';\n");
    writeFileSync(
      join(root, 'main.ts'),
      "const { greet } = await import('legacy');\nprocess.stdout.write(greet());\n",
    );
    assert.equal(run((await freshCliBundle({ root, entry: 'main.ts', cacheDir })).path), 'hello');
  });

  it('builds again in a copy of the project: a build holds absolute paths', async () => {
    const { root, cacheDir } = project('one');
    await freshCliBundle({ root, entry: 'main.ts', cacheDir });
    const copy = `${root}-copy`;
    roots.push(copy);
    cpSync(root, copy, { recursive: true, preserveTimestamps: true });
    const built = await freshCliBundle({ root: copy, entry: 'main.ts', cacheDir: join(copy, 'cache') });
    assert.equal(built.built, true);
    assert.equal(run(built.path), `one ${copy}/`);
  });

  it('refuses to build a source that does not parse, naming it, and keeps no build of it', async () => {
    const { root, cacheDir } = project('one');
    writeFileSync(join(root, 'words.ts'), 'export const words: string = ;\n');
    await assert.rejects(
      freshCliBundle({ root, entry: 'main.ts', cacheDir }),
      (error: { errors?: { location?: { file?: string } }[] }) =>
        error.errors?.[0]?.location?.file?.endsWith('words.ts') === true,
    );
    assert.deepEqual(
      readdirSync(cacheDir).filter((name) => name !== 'latest.json'),
      [],
      'no build was kept, and no leftover',
    );
  });

  it('lets two processes build at once: both get a working bundle', async () => {
    const { root, cacheDir } = project('one');
    const [a, b] = await Promise.all([
      freshCliBundle({ root, entry: 'main.ts', cacheDir }),
      freshCliBundle({ root, entry: 'main.ts', cacheDir }),
    ]);
    assert.equal(a.path, b.path);
    assert.match(run(a.path), /^one /);
  });
});

describe('bin/sluice.js: the shipped entry runs the bundle', () => {
  it('imports onnxruntime-node by its absolute location, so a cache folder anywhere (SLUICE_CLI_CACHE) works', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'sluice-cli-cache-'));
    roots.push(cacheDir);
    const { path } = await freshCliBundle({ cacheDir });
    const chunks = join(path, '..', 'chunks');
    const texts = readdirSync(chunks)
      .filter((name) => name.endsWith('.mjs'))
      .map((name) => readFileSync(join(chunks, name), 'utf8'));
    const imports = texts
      .flatMap((text) =>
        [...text.matchAll(/(?:\bfrom|\bimport\(?)\s*"([^"]+)"/g)].map((match) => match[1] ?? ''),
      )
      .filter((specifier) => specifier.includes('onnxruntime-node'));
    assert.ok(imports.length > 0, 'the bundle imports onnxruntime-node');
    for (const specifier of imports)
      assert.match(specifier ?? '', /^file:\/\/\/.*\/node_modules\/onnxruntime-node\//);
  });

  it('runs the TypeScript sources, saying so, when its cache folder cannot be written', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sluice-cli-cache-')), 'a-file');
    roots.push(join(file, '..'));
    writeFileSync(file, 'not a folder');
    const result = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'sluice.js'), '--version'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: { ...process.env, SLUICE_CLI_CACHE: join(file, 'cache') },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^\d+\.\d+\.\d+\n$/);
    assert.match(
      result.stderr,
      /^sluice: cannot write the CLI's build \(ENOTDIR\); running the TypeScript sources\n$/,
    );
  });

  it('prints the package version', () => {
    const { version } = z
      .object({ version: z.string() })
      .parse(JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')));
    const result = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'sluice.js'), '--version'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, `${version}\n`);
  });
});
