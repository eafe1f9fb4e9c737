const data = [];
for (let row = 0; row < 256; row++) data.push([5.1 + (row % 7) * 0.2, 3.5 - (row % 3) * 0.3, 1.4 + (row % 5) * 0.9, 0.2 + (row % 4) * 0.5]);
const body = JSON.stringify({ id: 'bench', inputs: [{ name: 'features', shape: [256, 4], datatype: 'FP32', data }] });
const flatBody = JSON.stringify({ id: 'bench', inputs: [{ name: 'features', shape: [256, 4], datatype: 'FP32', data: data.flat() }] });
const intBody = JSON.stringify({ id: 'bench', inputs: [{ name: 'features', shape: [256, 4], datatype: 'INT32', data: data.map(r => r.map(Math.round)) }] });
let sink = 0;
const OK = -1;
/** index of first non-number in an array that starts with a number, or -2 on infinity */
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
const cases = [['parse', () => { sink += JSON.parse(body).inputs.length }],
 ['walkG', () => { sink += walkG(JSON.parse(body), 1) }],
 ['parse flat', () => { sink += JSON.parse(flatBody).inputs.length }],
 ['walkG flat', () => { sink += walkG(JSON.parse(flatBody), 1) }],
 ['parse int', () => { sink += JSON.parse(intBody).inputs.length }],
 ['walkG int', () => { sink += walkG(JSON.parse(intBody), 1) }],
];
for (const [name, fn] of [...cases, ...cases]) {
  for (let i = 0; i < 2000; i++) fn();
  const n = 20000; const t = performance.now(); for (let i = 0; i < n; i++) fn();
  console.log(name, ((performance.now() - t) / n * 1000).toFixed(2), 'us');
}
