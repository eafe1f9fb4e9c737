const data = [];
for (let row = 0; row < 256; row++) data.push([5.1 + (row % 7) * 0.2, 3.5 - (row % 3) * 0.3, 1.4 + (row % 5) * 0.9, 0.2 + (row % 4) * 0.5]);
const body = JSON.stringify({ id: 'bench', inputs: [{ name: 'features', shape: [256, 4], datatype: 'FP32', data }] });
let sink = 0;
const OK = 0, DEEP = 1, INF = 2, PROTO = 3;
function walkD(node, depth) {
  if (depth > 64) return DEEP;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) { const item = node[i];
      if (typeof item === 'object') { if (item !== null) { const p = walkD(item, depth + 1); if (p !== OK) return p; } }
      else if (item === Infinity || item === -Infinity) return INF; }
    return OK;
  }
  for (const key in node) { if (key === '__proto__') return PROTO; const item = node[key];
    if (typeof item === 'object') { if (item !== null) { const p = walkD(item, depth + 1); if (p !== OK) return p; } }
    else if (item === Infinity || item === -Infinity) return INF; }
  return OK;
}
function walkE(node, depth) {
  if (depth > 64) return DEEP;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) { const item = node[i];
      if (typeof item === 'object') { if (item !== null) { const p = walkE(item, depth + 1); if (p !== OK) return p; } }
      else if (item - item !== 0 && typeof item === 'number') return INF; }
    return OK;
  }
  const keys = Object.keys(node);
  for (let k = 0; k < keys.length; k++) { const key = keys[k]; if (key === '__proto__') return PROTO; const item = node[key];
    if (typeof item === 'object') { if (item !== null) { const p = walkE(item, depth + 1); if (p !== OK) return p; } }
    else if (item === Infinity || item === -Infinity) return INF; }
  return OK;
}
const cases = [['parse', () => { sink += JSON.parse(body).inputs.length }],
 ['walkD', () => { sink += walkD(JSON.parse(body), 1) }],
 ['walkE', () => { sink += walkE(JSON.parse(body), 1) }],
];
for (const [name, fn] of [...cases, ...cases]) {
  for (let i = 0; i < 2000; i++) fn();
  const n = 20000; const t = performance.now(); for (let i = 0; i < n; i++) fn();
  console.log(name, ((performance.now() - t) / n * 1000).toFixed(2), 'us');
}
