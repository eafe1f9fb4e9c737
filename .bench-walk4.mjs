const data = [];
for (let row = 0; row < 256; row++) data.push([5.1 + (row % 7) * 0.2, 3.5 - (row % 3) * 0.3, 1.4 + (row % 5) * 0.9, 0.2 + (row % 4) * 0.5]);
const body = JSON.stringify({ id: 'bench', inputs: [{ name: 'features', shape: [256, 4], datatype: 'FP32', data }] });
let sink = 0;
function sumAll(p) { const d = p.inputs[0].data; let s = 0; for (let i = 0; i < d.length; i++) { const r = d[i]; for (let j = 0; j < r.length; j++) s += r[j]; } return s; }
function finiteNumbersOnly(array) {
  for (let i = 0; i < array.length; i++) { const item = array[i]; if (typeof item !== 'number') return false; if (item - item !== 0) throw new Error('inf'); }
  return true;
}
function walkC(node, depth) {
  if (depth > 64) throw new Error();
  if (Array.isArray(node)) {
    if (finiteNumbersOnly(node)) return;
    for (let i = 0; i < node.length; i++) { const item = node[i];
      if (typeof item === 'object') { if (item !== null) walkC(item, depth + 1); }
      else if (item === Number.POSITIVE_INFINITY || item === Number.NEGATIVE_INFINITY) throw new Error(); }
    return;
  }
  for (const key in node) { if (key === '__proto__') throw new Error(); const item = node[key];
    if (typeof item === 'object') { if (item !== null) walkC(item, depth + 1); }
    else if (item === Number.POSITIVE_INFINITY || item === Number.NEGATIVE_INFINITY) throw new Error(); }
}
const cases = [['parse', () => { sink += JSON.parse(body).inputs.length }], ['parse+sum', () => { sink += sumAll(JSON.parse(body)) }], ['parse+C', () => { const p = JSON.parse(body); walkC(p, 1); sink += p.inputs.length }], ['parse+C+sum', () => { const p = JSON.parse(body); walkC(p, 1); sink += sumAll(p) }]];
for (const [name, fn] of [...cases, ...cases]) {
  for (let i = 0; i < 2000; i++) fn();
  const n = 20000; const t = performance.now(); for (let i = 0; i < n; i++) fn();
  console.log(name, ((performance.now() - t) / n * 1000).toFixed(2), 'us');
}
console.log(sink > 0);
