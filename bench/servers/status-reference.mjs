// Reference for `sluice status MODEL --local`: a plain node process doing the same I/O and nothing else. It reads
// where the local stack listens (SLUICE_HOME/local-stack.json), GETs the model's rollout status and its observed
// traffic from the stack's control routes, as the CLI does, and prints both bodies.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [model = 'iris'] = process.argv.slice(2);
const info = JSON.parse(readFileSync(join(process.env.SLUICE_HOME, 'local-stack.json'), 'utf8'));
for (const path of [`/_sluice/rollouts/${model}`, `/_sluice/traffic?model=${model}`]) {
  const response = await fetch(`${info.apiUrl}${path}`);
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  process.stdout.write(`${await response.text()}\n`);
}
