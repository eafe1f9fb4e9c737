import { fileURLToPath } from 'node:url';

/** The built-ins worth loading by `require`: the ones whose ES module facade is costly (measured below). */
const COSTLY_FACADES = ['http', 'https'] as const;

/**
 * esbuild `alias` entries that load `node:http` and `node:https` with `require`, where the importing module
 * initialises, instead of by the ES `import` statements esbuild hoists to the top of an ESM bundle.
 *
 * A Node built-in imported by an ES module gets an ES module facade, which reads every export of the built-in once;
 * `node:http` and `node:https` define lazy getters (WebSocket, EventSource and more) that then load undici. Measured
 * on Node 24 (this machine, 2 cores): `import('node:http')` 60-110 ms, `require('node:http')` 5 ms. In the predict
 * bundle it was the Powertools Tracer's import (the tracer itself loads only with active tracing) that paid it on
 * every cold start: about 50 ms of 316. Each stand-in (`builtins/NAME.cjs`) is `module.exports = require('node:NAME')`,
 * so importers get the CommonJS object, and a module that is never initialised never loads it. An alias rather than
 * a plugin because the function bundler runs `buildSync`, which takes no plugins.
 *
 * @example
 * buildSync({ entryPoints: [entry], bundle: true, format: 'esm', alias: builtinsByRequire(), banner: { js: REQUIRE_SHIM } });
 */
export function builtinsByRequire(): Record<string, string> {
  const aliases: Record<string, string> = {};
  for (const name of COSTLY_FACADES) {
    const standIn = fileURLToPath(new URL(`./builtins/${name}.cjs`, import.meta.url));
    aliases[name] = standIn;
    aliases[`node:${name}`] = standIn;
  }
  return aliases;
}
