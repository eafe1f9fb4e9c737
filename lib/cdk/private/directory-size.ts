import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Total bytes of the regular files under a directory, recursively: what Lambda counts against its
 * unzipped deployment package limit. Symbolic links are counted as links, not followed, so a link
 * cannot make a directory look larger (or loop) than what gets zipped.
 *
 * @example
 * directorySize('cdk.out/asset.0123abcd'); // 49_283_072
 */
export function directorySize(directory: string): number {
  let total = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) total += directorySize(path);
    else total += lstatSync(path).size;
  }
  return total;
}
