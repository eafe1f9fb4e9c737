const data = [];
for (let row = 0; row < 256; row++) data.push([5.1 + (row % 7) * 0.2, 3.5 - (row % 3) * 0.3, 1.4 + (row % 5) * 0.9, 0.2 + (row % 4) * 0.5]);
const body = JSON.stringify({ id: 'bench', inputs: [{ name: 'features', shape: [256, 4], datatype: 'FP32', data }] });
let sink = 0;
function leaf(node) { return typeof node[0] === 'number' ? 1 : 0; }
function callsLeaf(d) { let s = 0; for (let i = 0; i < d.length; i++) s += leaf(d[i]); return s; }
function rec2(node) { if (typeof node[0] === 'number') return 1; let s = 0; for (let i = 0; i < node.length; i++) { const item = node[i]; if (typeof item === 'object') s += rec2(item); } return s + 1; }
function stackWalk(root) { const stack = [root]; let s = 0; while (stack.length > 0) { const node = stack.pop(); for (let i = 0; i < node.length; i++) { const item = node[i]; if (typeof item === 'object') stack.push(item); else s++; } } return s; }
const cases = [['parse', () => { sink += JSON.parse(body).inputs.length }],
 ['callsLeaf', () => { sink += callsLeaf(JSON.parse(body).inputs[0].data) }],
 ['rec2', () => { sink += rec2(JSON.parse(body).inputs[0].data) }],
 ['stack', () => { sink += stackWalk(JSON.parse(body).inputs[0].data) }],
];
for (const [name, fn] of [...cases, ...cases]) {
  for (let i = 0; i < 2000; i++) fn();
  const n = 20000; const t = performance.now(); for (let i = 0; i < n; i++) fn();
  console.log(name, ((performance.now() - t) / n * 1000).toFixed(2), 'us');
}
