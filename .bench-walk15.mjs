const data = [];
for (let row = 0; row < 256; row++) data.push([5.1 + (row % 7) * 0.2, 3.5 - (row % 3) * 0.3, 1.4 + (row % 5) * 0.9, 0.2 + (row % 4) * 0.5]);
const body = JSON.stringify({ id: 'bench', inputs: [{ name: 'features', shape: [256, 4], datatype: 'FP32', data }] });
let sink = 0;
function rowScan(r) { for (let i = 1; i < r.length; i++) { const x = r[i]; if (typeof x !== 'number' || x - x !== 0) return i; } return r.length; }
function rec2(node) { if (typeof node[0] === 'number') return 1; let s = 0; for (let i = 0; i < node.length; i++) { const item = node[i]; if (typeof item === 'object') s += rec2(item); } return s + 1; }
function rec3(node) { if (typeof node[0] === 'number') return rowScan(node); let s = 0; for (let i = 0; i < node.length; i++) { const item = node[i]; if (typeof item === 'object') s += rec3(item); } return s + 1; }
function rec4(node) { let s = 0; for (let i = 0; i < node.length; i++) { const item = node[i]; if (typeof item === 'object') { if (typeof item[0] === 'number') s += rowScan(item); else s += rec4(item); } } return s + 1; }
const cases = [['parse', () => { sink += JSON.parse(body).inputs.length }],
 ['rec2', () => { sink += rec2(JSON.parse(body).inputs[0].data) }],
 ['rec3', () => { sink += rec3(JSON.parse(body).inputs[0].data) }],
 ['rec4', () => { sink += rec4(JSON.parse(body).inputs[0].data) }],
];
for (const [name, fn] of [...cases, ...cases]) {
  for (let i = 0; i < 2000; i++) fn();
  const n = 20000; const t = performance.now(); for (let i = 0; i < n; i++) fn();
  console.log(name, ((performance.now() - t) / n * 1000).toFixed(2), 'us');
}
