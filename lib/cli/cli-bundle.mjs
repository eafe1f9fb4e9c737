// The `sluice` CLI as prebuilt JavaScript: bin/sluice.ts and everything it imports, bundled by esbuild into ES
// module chunks (one per command, loaded when it runs) under node_modules/.cache/sluice-cli/, and rebuilt before a
// run whenever one of its inputs changed. Plain JavaScript, because it runs before any TypeScript can.
//
// Fresh means: every input of the last build (each project file esbuild read, package.json, tsconfig.json,
// node_modules/.package-lock.json, which npm rewrites on every install, and this file) has the size, mtime and
// ctime it had, or, when one of those moved (a checkout, a touch), still the sha256 it had. A file's ctime changes
// with every write and cannot be set back, so a stale build never runs after a source change.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The project root: two folders up from this file. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The CLI's TypeScript entry, relative to the project root. */
export const CLI_ENTRY = 'bin/sluice.ts';

/** Where builds are kept, relative to the project root (SLUICE_CLI_CACHE overrides it). */
export const CLI_CACHE_DIR = 'node_modules/.cache/sluice-cli';

/** The bundle's entry file inside a build's folder. */
export const BUNDLE_ENTRY = 'sluice.mjs';

/** The record of the newest build inside the cache folder: its key and its inputs. */
const LATEST_FILE = 'latest.json';

/** Files that change what a build produces without being bundled, relative to the project root. */
const EXTRA_INPUTS = ['package.json', 'tsconfig.json', 'node_modules/.package-lock.json'];

/** Builds older than this (other than the newest) are deleted; a process still running one may load its chunks. */
const KEEP_OLD_BUILDS_MS = 24 * 60 * 60 * 1000;

/**
 * Packages loaded from node_modules as they are: onnxruntime-node loads its native binding by a path relative to its
 * own files. The bundle imports them by their absolute location, so it runs from any cache folder.
 */
const EXTERNAL_PACKAGES = ['onnxruntime-node'];

/** Defines `require` in each ES module chunk: bundled CommonJS dependencies call it for Node built-ins. */
const REQUIRE_SHIM =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/**
 * @typedef {object} BundleOptions
 * @property {string} [root] the project root (default: PROJECT_ROOT)
 * @property {string} [entry] the entry, relative to the root (default: CLI_ENTRY)
 * @property {string} [cacheDir] where builds are kept (default: SLUICE_CLI_CACHE, or CLI_CACHE_DIR under the root)
 */

/**
 * @typedef {object} FreshBundle
 * @property {string} path absolute path of the bundle's entry (.mjs)
 * @property {boolean} built true when this call built it
 */

/**
 * The bundle of the CLI as its sources are now: the last build when none of its inputs changed, otherwise a new one.
 *
 * @param {BundleOptions} [options]
 * @returns {Promise<FreshBundle>}
 */
export async function freshCliBundle(options = {}) {
  const root = options.root ?? PROJECT_ROOT;
  const entry = options.entry ?? CLI_ENTRY;
  const cacheDir = options.cacheDir ?? defaultCacheDir(root);
  const latest = readLatest(cacheDir);
  // A build embeds absolute paths (each module's own location): a moved or copied project builds anew.
  if (latest && latest.root === root && latest.entry === entry && (await isFresh(root, cacheDir, latest))) {
    return { path: join(cacheDir, latest.key, BUNDLE_ENTRY), built: false };
  }
  const key = await buildCliBundle({ root, entry, cacheDir });
  return { path: join(cacheDir, key, BUNDLE_ENTRY), built: true };
}

/**
 * Builds the bundle into the cache folder and records it as the newest build; returns its key (the folder's name,
 * a hash of its inputs). Two processes building at once both succeed: each builds in a folder of its own and the
 * first to rename it into place wins.
 *
 * @param {{ root: string, entry: string, cacheDir: string }} options
 * @returns {Promise<string>}
 */
export async function buildCliBundle({ root, entry, cacheDir }) {
  const [{ build }, { createHash }] = await Promise.all([import('esbuild'), import('node:crypto')]);
  mkdirSync(cacheDir, { recursive: true });
  const scratch = join(cacheDir, `.build-${uniqueSuffix()}`);
  try {
    const result = await build({
      entryPoints: { sluice: join(root, entry) },
      absWorkingDir: root,
      outdir: scratch,
      outExtension: { '.js': '.mjs' },
      chunkNames: 'chunks/[name]-[hash]',
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      minify: true,
      // Error classes name themselves after their constructor (SluiceError: `this.name = new.target.name`).
      keepNames: true,
      // The maps point at the sources in the project; SLUICE_DEBUG turns them on for stack traces.
      sourcemap: 'linked',
      sourcesContent: false,
      banner: { js: REQUIRE_SHIM },
      plugins: [projectSourcesPlugin(root)],
      metafile: true,
      logLevel: 'silent',
    });
    const bundled = Object.keys(result.metafile.inputs)
      .map((input) => resolve(root, input))
      .filter((path) => !relative(root, path).split(/[\\/]/).includes('node_modules'));
    const thisFile = fileURLToPath(import.meta.url);
    const inputs = [...new Set([...bundled, ...EXTRA_INPUTS.map((file) => join(root, file)), thisFile])]
      .map((path) => describeInput(root, path, createHash))
      .filter((input) => input !== undefined)
      .sort((a, b) => a.path.localeCompare(b.path));
    const key = createHash('sha256')
      .update(JSON.stringify([root, entry, inputs.map((input) => [input.path, input.sha256])]))
      .digest('hex')
      .slice(0, 16);
    const folder = join(cacheDir, key);
    try {
      renameSync(scratch, folder);
    } catch (error) {
      // Another process built the same inputs first: its folder holds the same bundle.
      if (
        !['EEXIST', 'ENOTEMPTY', 'EPERM'].includes(/** @type {NodeJS.ErrnoException} */ (error).code ?? '')
      ) {
        throw error;
      }
    }
    writeAtomically(join(cacheDir, LATEST_FILE), JSON.stringify({ key, root, entry, inputs }));
    pruneOldBuilds(cacheDir, key);
    return key;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Runs the CLI from its fresh bundle, building it first if a source changed. A build that fails (a syntax error in
 * a source) ends the process with esbuild's messages and exit 1; a cache folder that cannot be written (any file
 * system error) runs the TypeScript sources through tsx instead, as slowly as before.
 *
 * @returns {Promise<void>}
 */
export async function runCliBundle() {
  let bundle;
  try {
    bundle = await freshCliBundle();
  } catch (error) {
    const { code, syscall } = /** @type {NodeJS.ErrnoException} */ (error);
    // The cache folder cannot be written (read-only, not a folder, no room): run the sources as before.
    if (syscall !== undefined) {
      process.stderr.write(
        `sluice: cannot write the CLI's build (${code}); running the TypeScript sources\n`,
      );
      const { register } = await import('tsx/esm/api');
      register();
      await import(pathToFileURL(join(PROJECT_ROOT, CLI_ENTRY)).href);
      return;
    }
    process.stderr.write(
      `sluice: the CLI could not be built from its sources:\n${describeBuildError(error)}\n`,
    );
    process.exitCode = 1;
    return;
  }
  if (process.env.SLUICE_DEBUG) process.setSourceMapsEnabled(true);
  await import(pathToFileURL(bundle.path).href);
}

/**
 * @param {string} root
 * @returns {string}
 */
function defaultCacheDir(root) {
  const override = process.env.SLUICE_CLI_CACHE;
  if (override) return isAbsolute(override) ? override : resolve(override);
  return join(root, CLI_CACHE_DIR);
}

/**
 * @typedef {object} Input
 * @property {string} path relative to the project root
 * @property {number} size
 * @property {number} mtimeMs
 * @property {number} ctimeMs
 * @property {string} sha256
 */

/**
 * @typedef {object} Latest
 * @property {string} key
 * @property {string} root
 * @property {string} entry
 * @property {Input[]} inputs
 */

/**
 * The newest build's record, or undefined when there is none or it cannot be read (then a build runs).
 *
 * @param {string} cacheDir
 * @returns {Latest | undefined}
 */
function readLatest(cacheDir) {
  let parsed;
  try {
    parsed = JSON.parse(readFileSync(join(cacheDir, LATEST_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  const valid =
    typeof parsed === 'object' &&
    parsed !== null &&
    typeof parsed.key === 'string' &&
    /^[0-9a-f]{16}$/.test(parsed.key) &&
    typeof parsed.root === 'string' &&
    typeof parsed.entry === 'string' &&
    Array.isArray(parsed.inputs) &&
    parsed.inputs.every(
      (/** @type {unknown} */ input) =>
        typeof input === 'object' &&
        input !== null &&
        'path' in input &&
        typeof input.path === 'string' &&
        'sha256' in input &&
        typeof input.sha256 === 'string',
    );
  return valid ? parsed : undefined;
}

/**
 * True when every input is as the build read it. An input whose size, mtime or ctime moved is hashed: the same
 * bytes are fresh (and the record takes the new times, so the next run does not hash again). node:crypto takes
 * about 25 ms to load, as long as the rest of `sluice --version`: it is loaded only to hash.
 *
 * @param {string} root
 * @param {string} cacheDir
 * @param {Latest} latest
 * @returns {Promise<boolean>}
 */
async function isFresh(root, cacheDir, latest) {
  /** @type {number[]} */
  const moved = [];
  for (const [index, input] of latest.inputs.entries()) {
    const stats = statSync(join(root, input.path), { throwIfNoEntry: false });
    if (!stats) return false;
    if (stats.size !== input.size || stats.mtimeMs !== input.mtimeMs || stats.ctimeMs !== input.ctimeMs) {
      moved.push(index);
    }
  }
  if (!statSync(join(cacheDir, latest.key, BUNDLE_ENTRY), { throwIfNoEntry: false })) return false;
  if (moved.length === 0) return true;
  const { createHash } = await import('node:crypto');
  const inputs = [...latest.inputs];
  for (const index of moved) {
    const before = /** @type {Input} */ (inputs[index]);
    const now = describeInput(root, join(root, before.path), createHash);
    if (!now || now.sha256 !== before.sha256) return false;
    inputs[index] = now;
  }
  try {
    writeAtomically(join(cacheDir, LATEST_FILE), JSON.stringify({ ...latest, inputs }));
  } catch {
    // Only an optimisation: the next run hashes again.
  }
  return true;
}

/**
 * @param {string} root
 * @param {string} path absolute
 * @param {typeof import('node:crypto').createHash} createHash
 * @returns {Input | undefined}
 */
function describeInput(root, path, createHash) {
  let bytes;
  let stats;
  try {
    stats = statSync(path);
    bytes = readFileSync(path);
  } catch {
    // An extra input that does not exist (no lockfile yet) is not part of the build.
    return undefined;
  }
  return {
    path: relative(root, path),
    size: stats.size,
    mtimeMs: stats.mtimeMs,
    ctimeMs: stats.ctimeMs,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

/** `import('package')` with a bare specifier (not `./`, `../`, `node:`), as written in a project source. */
const PACKAGE_IMPORT = /\bimport\((['"])((?!\.|node:)[^'"]+)\1\)/g;

/**
 * An esbuild plugin for the project's own modules (not node_modules):
 * - each keeps its own `import.meta.url`, so bundled code that finds files beside its source
 *   (`new URL('../../package.json', import.meta.url)`, `createRequire(import.meta.url)`) finds them where they are,
 *   not beside the bundle;
 * - `await import('package')` of a CommonJS package returns its named exports, as Node's own import does: in a
 *   split bundle esbuild makes such a package a chunk whose only export is `default` (`module.exports`);
 * - the EXTERNAL_PACKAGES are imported by their absolute file URL (as resolved from the root), not by name, which
 *   would be resolved from the cache folder.
 *
 * @param {string} root
 * @returns {import('esbuild').Plugin}
 */
function projectSourcesPlugin(root) {
  const requireFromRoot = createRequire(join(root, 'package.json'));
  const externals = new RegExp(`^(${EXTERNAL_PACKAGES.join('|')})$`);
  return {
    name: 'project-sources',
    setup(build) {
      build.onResolve({ filter: externals }, (args) => {
        try {
          return { path: pathToFileURL(requireFromRoot.resolve(args.path)).href, external: true };
        } catch {
          // Not installed: left to fail where it is imported, as it would unbundled.
          return { path: args.path, external: true };
        }
      });
      build.onLoad({ filter: /\.[cm]?ts$/ }, (args) => {
        if (relative(root, args.path).split(/[\\/]/).includes('node_modules')) return undefined;
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta.url') && text.search(PACKAGE_IMPORT) < 0) return undefined;
        const url = JSON.stringify(pathToFileURL(args.path).href);
        const contents = text
          .replaceAll('import.meta.url', url)
          .replace(PACKAGE_IMPORT, (call) => `${call}.then((m) => ({ ...m.default, ...m }))`);
        return { contents, loader: 'ts', resolveDir: dirname(args.path) };
      });
    },
  };
}

/**
 * Deletes what is older than KEEP_OLD_BUILDS_MS in the cache folder but the build `keep` and the record: older
 * builds, and leftovers of builds that were killed.
 *
 * @param {string} cacheDir
 * @param {string} keep
 */
function pruneOldBuilds(cacheDir, keep) {
  const now = Date.now();
  for (const name of readdirSync(cacheDir)) {
    if (name === keep || name === LATEST_FILE) continue;
    const path = join(cacheDir, name);
    try {
      if (now - statSync(path).mtimeMs > KEEP_OLD_BUILDS_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // Deleted by another process meanwhile.
    }
  }
}

/**
 * Writes a file whole or not at all: a reader never sees half of it.
 *
 * @param {string} path
 * @param {string} text
 */
function writeAtomically(path, text) {
  const temporary = `${path}.${uniqueSuffix()}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}

/** A name no other process or call uses at the same time: the process id and a random part. */
function uniqueSuffix() {
  return `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * esbuild's messages (file, line, text), or the error's own message.
 *
 * @param {unknown} error
 * @returns {string}
 */
function describeBuildError(error) {
  const errors =
    /** @type {{ errors?: { text: string, location?: { file: string, line: number } | null }[] }} */ (error)
      .errors;
  if (!Array.isArray(errors) || errors.length === 0)
    return error instanceof Error ? error.message : String(error);
  return errors
    .map((message) =>
      message.location
        ? `  ${message.location.file}:${message.location.line}: ${message.text}`
        : `  ${message.text}`,
    )
    .join('\n');
}

// `node lib/cli/cli-bundle.mjs`: build now if a source changed (npm test and CI run it before the tests).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const bundle = await freshCliBundle();
  process.stdout.write(`${bundle.built ? 'built' : 'up to date:'} ${relative(process.cwd(), bundle.path)}\n`);
}
