const data = [];
for (let row = 0; row < 1024; row++) data.push(5.1 + (row % 7) * 0.2);
const body = JSON.stringify({ data });
let sink = 0;
function numberPrefix(array) {
  for (let i = 1; i < array.length; i++) { const item = array[i]; if (typeof item !== 'number') return i; if (item - item !== 0) return -2; }
  return array.length;
}
function numberPrefix2(array) {
  for (let i = 1; i < array.length; i++) { const item = array[i]; if (typeof item !== 'number') return i; if (item - item !== 0) return -2; }
  return array.length;
}
function sum(array) { let s = 0; for (let i = 0; i < array.length; i++) s += array[i]; return s; }
function isFiniteLoop(array) { for (let i = 0; i < array.length; i++) if (!Number.isFinite(array[i])) return i; return -1; }
const cases = [['parse', () => { sink += JSON.parse(body).data.length }],
 ['prefix-mono', () => { sink += numberPrefix(JSON.parse(body).data) }],
 ['prefix-poly', () => { sink += numberPrefix2(JSON.parse(body).data) + numberPrefix2([1,2,3]) }],
 ['sum', () => { sink += sum(JSON.parse(body).data) }],
 ['isFinite', () => { sink += isFiniteLoop(JSON.parse(body).data) }],
];
for (const [name, fn] of [...cases, ...cases]) {
  for (let i = 0; i < 2000; i++) fn();
  const n = 20000; const t = performance.now(); for (let i = 0; i < n; i++) fn();
  console.log(name, ((performance.now() - t) / n * 1000).toFixed(2), 'us');
}
