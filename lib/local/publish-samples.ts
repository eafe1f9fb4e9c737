import { readFile } from 'node:fs/promises';
import { PublishExtrasSchema } from '../core/manifest/ModelManifest.js';
import { publishVersion } from '../publish/publish-version.js';
import type { ModelRegistry } from '../storage/ModelRegistry.js';
import { SAMPLE_MODELS } from './sample-models.js';

/**
 * Publishes each bundled sample model that the registry does not have yet (first start of the local stack).
 */
export async function publishSamples(registry: ModelRegistry): Promise<{ model: string; version: number }[]> {
  const existing = new Set(await registry.listModels());
  const published: { model: string; version: number }[] = [];
  for (const sample of SAMPLE_MODELS) {
    if (existing.has(sample.name)) continue;
    const extras = PublishExtrasSchema.parse(JSON.parse(await readFile(sample.extrasPath, 'utf8')));
    const manifest = await publishVersion(registry, { name: sample.name, model: sample.modelPath, extras });
    published.push({ model: manifest.name, version: manifest.version });
  }
  return published;
}
