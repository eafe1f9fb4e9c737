const data = [];
for (let row = 0; row < 256; row++) data.push([5.1 + (row % 7) * 0.2, 3.5 - (row % 3) * 0.3, 1.4 + (row % 5) * 0.9, 0.2 + (row % 4) * 0.5]);
const body = JSON.stringify({ id: 'bench', inputs: [{ name: 'features', shape: [256, 4], datatype: 'FP32', data }] });
let sink = 0;
function len(r) { return r.length; }
function first(r) { return r[0]; }
function noThrow(array) { for (let i = 0; i < array.length; i++) { const item = array[i]; if (typeof item !== 'number' || item - item !== 0) return false; } return true; }
const cases = [['parse', () => { sink += JSON.parse(body).inputs.length }],
 ['callLen', () => { const d = JSON.parse(body).inputs[0].data; for (let i = 0; i < d.length; i++) sink += len(d[i]); }],
 ['callFirst', () => { const d = JSON.parse(body).inputs[0].data; for (let i = 0; i < d.length; i++) sink += first(d[i]); }],
 ['callNoThrow', () => { const d = JSON.parse(body).inputs[0].data; for (let i = 0; i < d.length; i++) sink += noThrow(d[i]) ? 1 : 0; }],
 ['inlineFirst', () => { const d = JSON.parse(body).inputs[0].data; for (let i = 0; i < d.length; i++) sink += d[i][0]; }],
];
for (const [name, fn] of [...cases, ...cases]) {
  for (let i = 0; i < 2000; i++) fn();
  const n = 20000; const t = performance.now(); for (let i = 0; i < n; i++) fn();
  console.log(name, ((performance.now() - t) / n * 1000).toFixed(2), 'us');
}
