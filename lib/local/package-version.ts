import { readFileSync } from 'node:fs';
import { SluiceError } from '../core/errors/SluiceError.js';

/**
 * The sluice version from its package.json, as `sluice --version` prints it and `GET /v2` reports it (locally;
 * on AWS the CDK app renders it into the API's mock integration).
 *
 * Checked by hand rather than with a zod schema: `sluice --version` loads nothing else, and zod alone takes about
 * 40 ms to load, as long as the rest of that command.
 *
 * @example
 * readPackageVersion(); // '0.1.0'
 */
export function readPackageVersion(): string {
  const path = new URL('../../package.json', import.meta.url);
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  const version =
    typeof parsed === 'object' && parsed !== null && 'version' in parsed ? parsed.version : undefined;
  if (typeof version !== 'string' || version.length === 0) {
    throw new SluiceError(`${path.pathname} has no "version" string; got ${JSON.stringify(version)}`);
  }
  return version;
}
