const data = [];
for (let row = 0; row < 1024; row++) data.push(5.1 + (row % 7) * 0.2);
const flatBody = JSON.stringify({ id: 'bench', inputs: [{ name: 'features', shape: [256, 4], datatype: 'FP32', data }] });
const emptyBody = JSON.stringify({ id: 'bench', inputs: [{ name: 'features', shape: [256, 4], datatype: 'FP32', data: [] }] });
let sink = 0;
const OK = -1;
function numberPrefix(array) {
  for (let i = 1; i < array.length; i++) { const item = array[i]; if (typeof item !== 'number') return i; if (item - item !== 0) return -2; }
  return array.length;
}
function walkG(node, depth) {
  if (depth > 64) return 1;
  if (Array.isArray(node)) {
    let start = 0;
    if (node.length > 0) { const first = node[0]; if (typeof first === 'number') { if (first - first !== 0) return 2; start = numberPrefix(node); if (start === -2) return 2; } }
    for (let i = start; i < node.length; i++) { const item = node[i];
      if (typeof item === 'object') { if (item !== null) { const p = walkG(item, depth + 1); if (p !== OK) return p; } }
      else if (item === Infinity || item === -Infinity) return 2; }
    return OK;
  }
  for (const key in node) { if (key === '__proto__') return 3; const item = node[key];
    if (typeof item === 'object') { if (item !== null) { const p = walkG(item, depth + 1); if (p !== OK) return p; } }
    else if (item === Infinity || item === -Infinity) return 2; }
  return OK;
}
function manual(p) { sink += numberPrefix(p.inputs[0].data) + numberPrefix(p.inputs[0].shape); }
const cases = [
 ['parse flat', () => { sink += JSON.parse(flatBody).inputs.length }],
 ['walkG flat', () => { sink += walkG(JSON.parse(flatBody), 1) }],
 ['manual flat', () => { manual(JSON.parse(flatBody)) }],
 ['parse empty', () => { sink += JSON.parse(emptyBody).inputs.length }],
 ['walkG empty', () => { sink += walkG(JSON.parse(emptyBody), 1) }],
];
for (const [name, fn] of [...cases, ...cases]) {
  for (let i = 0; i < 2000; i++) fn();
  const n = 20000; const t = performance.now(); for (let i = 0; i < n; i++) fn();
  console.log(name, ((performance.now() - t) / n * 1000).toFixed(2), 'us');
}
