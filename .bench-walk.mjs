const data = [];
for (let row = 0; row < 256; row++) data.push([5.1 + (row % 7) * 0.2, 3.5 - (row % 3) * 0.3, 1.4 + (row % 5) * 0.9, 0.2 + (row % 4) * 0.5]);
const body = JSON.stringify({ id: 'bench', inputs: [{ name: 'features', shape: [256, 4], datatype: 'FP32', data }] });
const parsed = JSON.parse(body);
function walkA(node, depth) {
  if (depth > 64) throw new Error();
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) { const item = node[i];
      if (typeof item === 'object') { if (item !== null) walkA(item, depth + 1); }
      else if (item === Number.POSITIVE_INFINITY || item === Number.NEGATIVE_INFINITY) throw new Error(); }
    return;
  }
  for (const key in node) { if (key === '__proto__') throw new Error(); const item = node[key];
    if (typeof item === 'object') { if (item !== null) walkA(item, depth + 1); }
    else if (item === Number.POSITIVE_INFINITY || item === Number.NEGATIVE_INFINITY) throw new Error(); }
}
function walkB(node, depth) {
  if (depth > 64) throw new Error();
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) { const item = node[i];
      if (typeof item === 'object') { if (item !== null) walkB(item, depth + 1); }
      else if (typeof item === 'number' && item - item !== 0) throw new Error(); }
    return;
  }
  const keys = Object.keys(node);
  for (let k = 0; k < keys.length; k++) { const key = keys[k]; if (key === '__proto__') throw new Error(); const item = node[key];
    if (typeof item === 'object') { if (item !== null) walkB(item, depth + 1); }
    else if (typeof item === 'number' && item - item !== 0) throw new Error(); }
}
for (const [name, fn] of [['A', () => walkA(parsed, 1)], ['B', () => walkB(parsed, 1)], ['A', () => walkA(parsed, 1)], ['B', () => walkB(parsed, 1)], ['parse', () => JSON.parse(body)]]) {
  for (let i = 0; i < 2000; i++) fn();
  const n = 20000; const t = performance.now(); for (let i = 0; i < n; i++) fn();
  console.log(name, ((performance.now() - t) / n * 1000).toFixed(2), 'us');
}
for (const [name, fn] of [['parse+A', () => walkA(JSON.parse(body), 1)], ['parse+B', () => walkB(JSON.parse(body), 1)], ['parse', () => JSON.parse(body)],['parse+A', () => walkA(JSON.parse(body), 1)], ['parse+B', () => walkB(JSON.parse(body), 1)], ['parse', () => JSON.parse(body)]]) {
  for (let i = 0; i < 2000; i++) fn();
  const n = 20000; const t = performance.now(); for (let i = 0; i < n; i++) fn();
  console.log(name, ((performance.now() - t) / n * 1000).toFixed(2), 'us');
}
