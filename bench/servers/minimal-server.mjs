// Reference for the HTTP benchmark: the least work a server can do to answer a V2 inference request.
// node:http, JSON.parse, one session.run, JSON.stringify. No validation, no routing, no metrics.
import { createServer } from 'node:http';
import * as ort from 'onnxruntime-node';

const [modelUrl] = process.argv.slice(2);
const bytes = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
// The handler's session options (passed by bench/run.ts), so only the work around the session differs.
const session = await ort.InferenceSession.create(
  bytes,
  JSON.parse(process.env.BENCH_SESSION_OPTIONS ?? '{}'),
);

const server = createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', async () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const input = body.inputs[0];
    const feeds = {
      [input.name]: new ort.Tensor('float32', Float32Array.from(input.data.flat()), input.shape),
    };
    const results = await session.run(feeds);
    const outputs = Object.entries(results).map(([name, tensor]) => ({
      name,
      shape: tensor.dims,
      datatype: tensor.type,
      data: Array.from(tensor.data, Number),
    }));
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ outputs }));
  });
});
server.listen(0, '127.0.0.1', () => process.send({ ready: server.address().port }));
process.on('message', (message) => {
  if (message === 'exit') process.exit(0);
});
process.on('message', (message) => {
  if (message !== 'cpu') return;
  const { user, system } = process.cpuUsage();
  process.send({ cpuMicros: user + system });
});
