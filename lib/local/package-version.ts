import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** The fields of sluice's own package.json that sluice reads. */
const PackageJsonSchema = z.object({ version: z.string().min(1) });

/**
 * The sluice version from its package.json, as `sluice --version` prints it and `GET /v2` reports it (locally;
 * on AWS the CDK app renders it into the API's mock integration).
 *
 * @example
 * readPackageVersion(); // '0.1.0'
 */
export function readPackageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return PackageJsonSchema.parse(JSON.parse(text)).version;
}
