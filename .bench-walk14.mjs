const data = [];
for (let row = 0; row < 256; row++) data.push([5.1 + (row % 7) * 0.2, 3.5 - (row % 3) * 0.3, 1.4 + (row % 5) * 0.9, 0.2 + (row % 4) * 0.5]);
const body = JSON.stringify({ id: 'bench', inputs: [{ name: 'features', shape: [256, 4], datatype: 'FP32', data }] });
let sink = 0;
function loopRows(d) { let s = 0; for (let i = 0; i < d.length; i++) { const r = d[i]; if (Array.isArray(r)) s += r.length; } return s; }
function loopRowsFirst(d) { let s = 0; for (let i = 0; i < d.length; i++) { const r = d[i]; if (Array.isArray(r)) { const f = r[0]; if (typeof f === 'number') s++; } } return s; }
function rec(node) { if (!Array.isArray(node)) return 0; let s = 0; for (let i = 0; i < node.length; i++) { const item = node[i]; if (typeof item === 'object') s += rec(item); } return s + 1; }
const cases = [['parse', () => { sink += JSON.parse(body).inputs.length }],
 ['loopRows', () => { sink += loopRows(JSON.parse(body).inputs[0].data) }],
 ['loopRowsFirst', () => { sink += loopRowsFirst(JSON.parse(body).inputs[0].data) }],
 ['rec', () => { sink += rec(JSON.parse(body).inputs[0].data) }],
];
for (const [name, fn] of [...cases, ...cases]) {
  for (let i = 0; i < 2000; i++) fn();
  const n = 20000; const t = performance.now(); for (let i = 0; i < n; i++) fn();
  console.log(name, ((performance.now() - t) / n * 1000).toFixed(2), 'us');
}
