const data = [];
for (let row = 0; row < 1024; row++) data.push(5.1 + (row % 7) * 0.2);
const flatBody = JSON.stringify({ id: 'bench', inputs: [{ name: 'features', shape: [256, 4], datatype: 'FP32', data }] });
const simpleBody = JSON.stringify({ data });
let sink = 0;
function np1(array) { for (let i = 1; i < array.length; i++) { const item = array[i]; if (typeof item !== 'number') return i; if (item - item !== 0) return -2; } return array.length; }
function np2(array) { for (let i = 1; i < array.length; i++) { const item = array[i]; if (typeof item !== 'number') return i; if (item - item !== 0) return -2; } return array.length; }
function np3(array) { for (let i = 1; i < array.length; i++) { const item = array[i]; if (typeof item !== 'number') return i; if (item - item !== 0) return -2; } return array.length; }
const cases = [
 ['parse flat', () => { sink += JSON.parse(flatBody).inputs.length }],
 ['np1 flat data', () => { sink += np1(JSON.parse(flatBody).inputs[0].data) }],
 ['parse simple', () => { sink += JSON.parse(simpleBody).data.length }],
 ['np2 simple', () => { sink += np2(JSON.parse(simpleBody).data) }],
 ['np3 both', () => { sink += np3(JSON.parse(simpleBody).data) + np3(JSON.parse(flatBody).inputs[0].data) }],
];
for (const [name, fn] of [...cases, ...cases]) {
  for (let i = 0; i < 2000; i++) fn();
  const n = 20000; const t = performance.now(); for (let i = 0; i < n; i++) fn();
  console.log(name, ((performance.now() - t) / n * 1000).toFixed(2), 'us');
}
