#!/usr/bin/env node
// `sluice` (`npx sluice`, `npm run sluice`): the CLI as prebuilt JavaScript, rebuilt first whenever a source changed
// (lib/cli/cli-bundle.mjs), so a fresh clone works after `npm install` and a stale build never runs.
import module from 'node:module';

// V8 keeps the compiled bundle on disk (Node 22.1 and later): later starts skip compiling it.
module.enableCompileCache?.();
const { runCliBundle } = await import('../lib/cli/cli-bundle.mjs');
await runCliBundle();
