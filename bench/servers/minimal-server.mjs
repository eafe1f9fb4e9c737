// Reference for the HTTP benchmark: the least work a server can do to answer a V2 inference request.
// node:http, JSON.parse (or a binary body's header and bytes), one session.run, JSON.stringify. No validation, no
// routing, no metrics.
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
    const bytes = Buffer.concat(chunks);
    // A binary body (the V2 binary extension): a JSON header of the announced length, then the tensor's bytes,
    // copied once into an aligned buffer. Otherwise JSON.
    const headerLength = Number(request.headers['inference-header-content-length'] ?? Number.NaN);
    const body = JSON.parse(
      bytes.subarray(0, headerLength >= 0 ? headerLength : bytes.length).toString('utf8'),
    );
    const input = body.inputs[0];
    const values =
      headerLength >= 0
        ? new Float32Array(new Uint8Array(bytes.subarray(headerLength)).buffer)
        : Float32Array.from(input.data.flat());
    const feeds = { [input.name]: new ort.Tensor('float32', values, input.shape) };
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
