const data = [];
for (let row = 0; row < 256; row++) data.push([5.1 + (row % 7) * 0.2, 3.5 - (row % 3) * 0.3, 1.4 + (row % 5) * 0.9, 0.2 + (row % 4) * 0.5]);
const body = JSON.stringify({ id: 'bench', inputs: [{ name: 'features', shape: [256, 4], datatype: 'FP32', data }] });
function rowsOnly(p) { const d = p.inputs[0].data; let s = 0; for (let i = 0; i < d.length; i++) s += d[i].length; return s; }
function sumAll(p) { const d = p.inputs[0].data; let s = 0; for (let i = 0; i < d.length; i++) { const r = d[i]; for (let j = 0; j < r.length; j++) s += r[j]; } return s; }
function flatten(p) { const d = p.inputs[0].data; const f = new Float32Array(1024); let o = 0; for (let i = 0; i < d.length; i++) { const r = d[i]; for (let j = 0; j < r.length; j++) f[o++] = r[j]; } return f; }
const cases = [['parse', () => JSON.parse(body)], ['rowsOnly', () => rowsOnly(JSON.parse(body))], ['sumAll', () => sumAll(JSON.parse(body))], ['flatten', () => flatten(JSON.parse(body))], ['bare-flat', () => Float32Array.from(JSON.parse(body).inputs[0].data.flat())]];
for (const [name, fn] of [...cases, ...cases]) {
  for (let i = 0; i < 2000; i++) fn();
  const n = 20000; const t = performance.now(); for (let i = 0; i < n; i++) fn();
  console.log(name, ((performance.now() - t) / n * 1000).toFixed(2), 'us');
}
