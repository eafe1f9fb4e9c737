import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { decodeJsonFeeds, type JsonFeeds, type JsonFeedsTask } from '../json-feeds.js';
import { bodyChars } from '../request-body.js';
import { type DecodeReply, type DecodeRequest, errorOf } from './json-feeds-messages.js';

/**
 * Shortest body (characters of the event's body, base64 or text) sent to a worker; shorter ones are decoded on the
 * request's thread, where they cost no more than the trip: 256 KiB of base64 is 190 KB of JSON (5 000 rows of four
 * floats), which parses and decodes in about 4 ms, as long as the round trip to a worker takes (medians of 60).
 */
export const OFF_THREAD_BODY_CHARS = 256 * 1024;

/** Most worker threads a pool runs: enough to keep the request thread free, few enough to leave cores to onnxruntime. */
export const MAX_DECODE_WORKERS = 2;

/** A worker left idle this long exits (a new one starts with the next big body). */
export const IDLE_WORKER_MS = 60_000;

/**
 * The worker's entry: the file beside this one, under this file's own extension (`.ts` from source, `.js` once
 * compiled), or undefined when there is none: a bundle (the bench's server) has only itself.
 */
function workerEntry(): URL | undefined {
  const here = import.meta.url;
  const entry = new URL(`./json-feeds-worker${extname(fileURLToPath(here))}`, here);
  return existsSync(entry) ? entry : undefined;
}

/** Starts a worker; from source, under tsx, whose hooks a worker does not inherit in Node 20, it registers them first. */
function startWorker(entry: URL): Worker {
  if (extname(fileURLToPath(entry)) !== '.ts') return new Worker(entry);
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true });
}

/** Options of {@link JsonFeedsPool}. */
export interface JsonFeedsPoolOptions {
  /** @default min(MAX_DECODE_WORKERS, cores - 1), at least 1 */
  readonly workers?: number;
  /** @default OFF_THREAD_BODY_CHARS */
  readonly minOffThreadChars?: number;
  /**
   * The worker's module; null for none (every body decoded on the request thread).
   * @default the json-feeds-worker file beside this one, when there is one
   */
  readonly entry?: URL | null;
}

/** A body waiting for, or being decoded by, a worker. */
interface Pending {
  readonly task: JsonFeedsTask;
  readonly resolve: (feeds: JsonFeeds) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Decodes big JSON bodies (`decodeJsonFeeds`) on a few worker threads, so the thread that answers requests stays
 * free while they parse: a process serving many requests at once (the local stack) keeps answering small ones while
 * three 5.8 MB nested-array bodies are read. Measured on a shared 2-core machine (one worker), three such iris bodies
 * at once, five rounds: the request thread's longest block went from 430-760 ms to 64-210 ms, and the first
 * `GET /v2/health/live` sent once they were sent waited 120-630 ms before, 20-180 ms after (the issue saw 4 s on a
 * slower machine); what is left is the model run and the answer of 155 000 rows, on the request thread. Workers start
 * on the first big body and hand the feeds back by transfer: a parsed tree would cost as much to copy back as to
 * parse (deserialising the tree of a 4.9 MB body took 190-480 ms where JSON.parse took 130-260 ms). A worker exits
 * after {@link IDLE_WORKER_MS} idle; an idle worker never keeps the process alive.
 *
 * @example
 * const pool = new JsonFeedsPool();
 * const { feeds } = await pool.decode({ form: 'infer', body: event, model: manifest });
 */
export class JsonFeedsPool {
  private readonly size: number;
  private readonly minOffThreadChars: number;
  private readonly idle: Worker[] = [];
  private readonly idleTimers = new Map<Worker, NodeJS.Timeout>();
  private readonly busy = new Map<Worker, Pending>();
  private readonly queue: Pending[] = [];
  private readonly waiters: { readonly count: number; readonly resolve: () => void }[] = [];
  /** Every worker started and not yet lost. */
  private readonly workers = new Set<Worker>();
  /** Workers that have answered at least once: one lost before that could not start. */
  private readonly proven = new WeakSet<Worker>();
  /**
   * The worker's entry, looked up at the first big body; null once workers cannot be had (no entry file, or one
   * failed to start): every body is then decoded on the request thread, as on Lambda.
   */
  private entry: URL | null | undefined;
  private nextId = 0;

  constructor(options: JsonFeedsPoolOptions = {}) {
    this.size = Math.max(1, options.workers ?? Math.min(MAX_DECODE_WORKERS, availableParallelism() - 1));
    this.minOffThreadChars = options.minOffThreadChars ?? OFF_THREAD_BODY_CHARS;
    this.entry = options.entry;
  }

  /**
   * Whether {@link decode} would send this body to a worker: big enough, and a worker's module to run. A caller
   * decodes any other body with `decodeJsonFeeds` itself, with no promise on its path.
   */
  takes(task: JsonFeedsTask): boolean {
    if (bodyChars(task.body) < this.minOffThreadChars) return false;
    if (this.entry === undefined) this.entry = workerEntry() ?? null;
    return this.entry !== null;
  }

  /** Decodes a body: on a worker when it is big, on this thread otherwise. Rejects as `decodeJsonFeeds` throws. */
  async decode(task: JsonFeedsTask): Promise<JsonFeeds> {
    if (!this.takes(task)) return decodeJsonFeeds(task);
    return new Promise<JsonFeeds>((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.dispatch();
      this.notify();
    });
  }

  /** Bodies waiting for a worker or being decoded by one. */
  get inFlight(): number {
    return this.queue.length + this.busy.size;
  }

  /** Resolves once at least `count` bodies are in flight at once (see {@link inFlight}). */
  whenInFlight(count: number): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push({ count, resolve });
      this.notify();
    });
  }

  /** Stops every worker; bodies still waiting are refused with a 500, and bodies after it are decoded in line. */
  async close(): Promise<void> {
    this.entry = null;
    for (const pending of this.queue.splice(0)) pending.reject(new Error('the body decoder was closed'));
    await Promise.all([...this.workers].map((worker) => worker.terminate()));
  }

  private notify(): void {
    for (let index = this.waiters.length - 1; index >= 0; index--) {
      const waiter = this.waiters[index];
      if (waiter && this.inFlight >= waiter.count) {
        this.waiters.splice(index, 1);
        waiter.resolve();
      }
    }
  }

  /** Hands waiting bodies to idle workers, starting new ones up to the pool's size. */
  private dispatch(): void {
    while (this.queue.length > 0) {
      const entry = this.entry;
      if (!entry) return;
      const worker = this.idle.pop() ?? (this.workers.size < this.size ? this.spawn(entry) : undefined);
      if (!worker) return;
      clearTimeout(this.idleTimers.get(worker));
      this.idleTimers.delete(worker);
      const pending = this.queue.shift() as Pending;
      this.busy.set(worker, pending);
      // A worker at work keeps the process alive until it answers; an idle one does not.
      worker.ref();
      const request: DecodeRequest = { id: this.nextId++, task: pending.task };
      worker.postMessage(request);
    }
  }

  private spawn(entry: URL): Worker {
    const worker = startWorker(entry);
    this.workers.add(worker);
    worker.on('message', (reply: DecodeReply) => {
      this.proven.add(worker);
      const pending = this.busy.get(worker);
      this.busy.delete(worker);
      this.rest(worker);
      if (pending) {
        if (reply.ok) pending.resolve(reply.result);
        else pending.reject(errorOf(reply.error));
      }
      this.dispatch();
    });
    worker.on('error', (error) => this.lost(worker, error));
    worker.on('exit', (code) => this.lost(worker, new Error(`the body decoder exited with code ${code}`)));
    return worker;
  }

  /** Puts a worker back among the idle ones, to exit if nothing comes for it. */
  private rest(worker: Worker): void {
    worker.unref();
    this.idle.push(worker);
    // Its 'exit' takes it out of the pool.
    const timer = setTimeout(() => void worker.terminate(), IDLE_WORKER_MS);
    timer.unref();
    this.idleTimers.set(worker, timer);
  }

  /**
   * A worker that failed or exited. One that never answered could not start: bodies are decoded on the request
   * thread from then on, its own and the waiting ones included. One that had worked fails its body with a 500, and
   * a new one starts when needed.
   */
  private lost(worker: Worker, error: Error): void {
    // 'error' is followed by 'exit': the first one counts.
    if (!this.workers.delete(worker)) return;
    const pending = this.busy.get(worker);
    if (!this.proven.has(worker) && this.entry) {
      this.entry = null;
      this.busy.delete(worker);
      for (const waiting of [...(pending ? [pending] : []), ...this.queue.splice(0)]) {
        try {
          waiting.resolve(decodeJsonFeeds(waiting.task));
        } catch (refusal) {
          waiting.reject(refusal);
        }
      }
      return;
    }
    this.busy.delete(worker);
    const index = this.idle.indexOf(worker);
    if (index >= 0) this.idle.splice(index, 1);
    clearTimeout(this.idleTimers.get(worker));
    this.idleTimers.delete(worker);
    pending?.reject(error);
    this.dispatch();
  }
}
