import { parseJson } from './lib/tensor/parse-json.js';
const data: number[][] = [];
for (let row = 0; row < 256; row++) data.push([5.1 + (row % 7) * 0.2, 3.5 - (row % 3) * 0.3, 1.4 + (row % 5) * 0.9, 0.2 + (row % 4) * 0.5]);
const body = JSON.stringify({ id: 'bench', inputs: [{ name: 'features', shape: [256, 4], datatype: 'FP32', data }] });
const re = /(?<![\d."])\d{16,}(?![\d.eE"])/;
const cases: [string, () => unknown][] = [
  ['JSON.parse', () => JSON.parse(body)],
  ['regex+parse', () => re.test(body) || JSON.parse(body)],
  ['parseJson', () => parseJson(body)],
];
for (const [name, fn] of [...cases, ...cases]) {
  for (let i = 0; i < 2000; i++) fn();
  const n = 20000; const t = performance.now(); for (let i = 0; i < n; i++) fn();
  console.log(name, ((performance.now() - t) / n * 1000).toFixed(2), 'us');
}
