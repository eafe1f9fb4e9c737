import * as ort from 'onnxruntime-node';
import { parseJson } from './lib/tensor/parse-json.js';
import { decodeTensor } from './lib/tensor/decode-tensor.js';
import { encodeTensorJson } from './lib/tensor/encode-tensor.js';
function v2Body(rows: number): string {
  const data: number[][] = [];
  for (let row = 0; row < rows; row++) data.push([5.1 + (row % 7) * 0.2, 3.5 - (row % 3) * 0.3, 1.4 + (row % 5) * 0.9, 0.2 + (row % 4) * 0.5]);
  return JSON.stringify({ id: 'bench', inputs: [{ name: 'features', shape: [rows, 4], datatype: 'FP32', data }] });
}
const spec = { name: 'features', datatype: 'FP32' as const, shape: [-1, 4] };
for (const rows of [1, 256]) {
  const body = v2Body(rows);
  const probs = new ort.Tensor('float32', new Float32Array(rows * 3).map(() => Math.random()), [rows, 3]);
  const label = new ort.Tensor('int64', new BigInt64Array(rows).fill(1n), [rows]);
  const bare = () => { const r = JSON.parse(body); const i = r.inputs[0]; const t = new ort.Tensor('float32', Float32Array.from(i.data.flat()), i.shape);
    return JSON.stringify({ outputs: [['label', label], ['probabilities', probs]].map(([name, tensor]: any) => ({ name, shape: tensor.dims, data: Array.from(tensor.data as ArrayLike<number>, Number) })) }).length + t.size; };
  const ours = () => { const r = parseJson(body) as any; const t = decodeTensor(r.inputs[0], spec); return (encodeTensorJson('label', label) + encodeTensorJson('probabilities', probs)).length + t.size; };
  for (const [name, fn] of [['bare', bare], ['ours', ours], ['bare', bare], ['ours', ours]] as const) {
    for (let i = 0; i < 2000; i++) fn();
    const n = rows === 1 ? 200000 : 20000; const t = performance.now(); for (let i = 0; i < n; i++) fn();
    console.log(rows, name, ((performance.now() - t) / n * 1000).toFixed(2), 'us');
  }
}
