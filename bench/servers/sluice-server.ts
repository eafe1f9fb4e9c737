// The benchmarked sluice server: the local stack as `npm start` runs it (embedded store, the request
// pipeline Lambda runs, behind the API Gateway emulator). The orchestrator publishes the model into it.
import { Logger } from '@aws-lambda-powertools/logger';
import { LocalStack } from '../../lib/local/LocalStack.js';

const [home] = process.argv.slice(2);
if (!home) throw new Error('usage: sluice-server HOME');
const stack = await LocalStack.start({
  home,
  port: 0,
  publishSamples: false,
  logger: new Logger({ serviceName: 'sluice-local' }),
});
process.send?.({ ready: Number(new URL(stack.apiUrl).port) });
process.on('message', (message) => {
  if (message === 'exit') process.exit(0);
});
process.on('message', (message) => {
  if (message !== 'cpu') return;
  const { user, system } = process.cpuUsage();
  process.send?.({ cpuMicros: user + system });
});
