// What the embedded store costs on its own: a process that starts it (as the local stack does) and serves nothing.
import { LocalObjectStore } from '../../lib/local/LocalObjectStore.js';

const [directory] = process.argv.slice(2);
if (!directory) throw new Error('usage: store-only DIRECTORY');
const store = await LocalObjectStore.start({ directory, port: 0 });
process.send?.({ ready: Number(new URL(store.endpoint).port) });
