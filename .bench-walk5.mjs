const data = [];
for (let row = 0; row < 256; row++) data.push([5.1 + (row % 7) * 0.2, 3.5 - (row % 3) * 0.3, 1.4 + (row % 5) * 0.9, 0.2 + (row % 4) * 0.5]);
const body = JSON.stringify({ id: 'bench', inputs: [{ name: 'features', shape: [256, 4], datatype: 'FP32', data }] });
let sink = 0;
function finiteNumbersOnly(array) {
  for (let i = 0; i < array.length; i++) { const item = array[i]; if (typeof item !== 'number') return false; if (item - item !== 0) throw new Error('inf'); }
  return true;
}
function arraysOnly(node, depth) {
  if (depth > 64) throw new Error();
  if (finiteNumbersOnly(node)) return;
  for (let i = 0; i < node.length; i++) { const item = node[i]; if (Array.isArray(item)) arraysOnly(item, depth + 1); }
}
function rowsLoop(d) { for (let i = 0; i < d.length; i++) finiteNumbersOnly(d[i]); }
function rowsInline(d) { for (let i = 0; i < d.length; i++) { const r = d[i]; for (let j = 0; j < r.length; j++) { const item = r[j]; if (typeof item !== 'number') return false; if (item - item !== 0) throw new Error('inf'); } } }
function rowsTypeof(d) { for (let i = 0; i < d.length; i++) { const r = d[i]; for (let j = 0; j < r.length; j++) { const item = r[j]; if (typeof item !== 'number') return false; } } }
function rowsSub(d) { let s = 0; for (let i = 0; i < d.length; i++) { const r = d[i]; for (let j = 0; j < r.length; j++) { const item = r[j]; s += item - item; } } if (s!==0) throw 1 }
const cases = [['parse', () => { sink += JSON.parse(body).inputs.length }],
 ['arraysOnly', () => { const p = JSON.parse(body); arraysOnly(p.inputs[0].data, 1); sink += 1 }],
 ['rowsLoop', () => { const p = JSON.parse(body); rowsLoop(p.inputs[0].data); sink += 1 }],
 ['rowsInline', () => { const p = JSON.parse(body); rowsInline(p.inputs[0].data); sink += 1 }],
 ['rowsTypeof', () => { const p = JSON.parse(body); rowsTypeof(p.inputs[0].data); sink += 1 }],
 ['rowsSub', () => { const p = JSON.parse(body); rowsSub(p.inputs[0].data); sink += 1 }],
];
for (const [name, fn] of [...cases, ...cases]) {
  for (let i = 0; i < 2000; i++) fn();
  const n = 20000; const t = performance.now(); for (let i = 0; i < n; i++) fn();
  console.log(name, ((performance.now() - t) / n * 1000).toFixed(2), 'us');
}
