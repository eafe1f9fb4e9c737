// Reference for "local stack ready": the least a process does before it can answer the sample: load
// onnxruntime-node, create the sample's session from its file, listen on node:http, answer one prediction.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import * as ort from 'onnxruntime-node';

const [modelPath] = process.argv.slice(2);
const session = await ort.InferenceSession.create(
  await readFile(modelPath),
  JSON.parse(process.env.BENCH_SESSION_OPTIONS ?? '{}'),
);
const server = createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', async () => {
    const { instances } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const results = await session.run({
      features: new ort.Tensor('float32', Float32Array.from(instances.flat()), [instances.length, 4]),
    });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ predictions: Object.keys(results) }));
  });
});
server.listen(0, '127.0.0.1', () =>
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`),
);
