/**
 * Main thread → worker, one-way: a worker channel against thread-stream
 * (pino's transport: a SharedArrayBuffer ring with Atomics between the
 * main thread and a worker, the closest peer to a worker channel), both
 * with their defaults. One sample, for one kind and chunk size:
 *
 *   1. start a fresh worker (to-worker-sink.ts) that counts what arrives
 *      into a shared counter;
 *   2. the main thread writes `size`-byte chunks with the throughput
 *      harness's writer (write until false, then 'drain'; both have that
 *      API) until the window closes;
 *   3. the counter is read once `warmMs` have passed since the first bytes
 *      arrived and again `ms` later
 *      (window.ts, by timer: the writer yields every 4 MiB); the sample is
 *      the bytes counted in that window over its length;
 *   4. end the stream and check the worker counted exactly what was
 *      written, then stop the worker.
 */
import { once } from 'node:events';
import { extname } from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type ThreadStreamClass from 'thread-stream';
import { createChannel, openChannel } from '../src/index.js';
import { requirePeer } from './optional.js';
import { rates } from './stats.js';
import { writeUntil } from './throughput.js';
import type { Channel } from './transports.js';
import type { SinkJob } from './to-worker-sink.js';
import { TimedWindow, withTimeout, type WindowReading } from './window.js';
import type { WorkerSample } from './worker.js';

export type ToWorkerKind = 'channel' | 'thread-stream';
export const TO_WORKER_KINDS: readonly ToWorkerKind[] = ['channel', 'thread-stream'];
export const TO_WORKER_SIZES = [1 << 10, 64 << 10];

/** bytes, seconds, mbps, opsPerSec, nsPerOp and the process's CPU in the window, as for the other direction. */
export type ToWorkerSample = Omit<WorkerSample, 'chunks' | 'lateMs'>;

/** The writer's slice between checks of whether the window has closed, ms. */
const SLICE_MS = 20;

function sinkPath(): string {
  const self = fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(`./to-worker-sink${extname(self)}`, import.meta.url));
}

interface Opened {
  stream: Writable;
  /** Ends the stream, resolves once the worker has everything and is gone. */
  finish(): Promise<void>;
}

async function openChannelSink(counter: BigInt64Array): Promise<Opened> {
  const { port1, port2 } = createChannel();
  const job: SinkJob = { kind: 'channel', counter, port: port2 };
  const worker = new Worker(sinkPath(), { workerData: job, execArgv: process.execArgv });
  const failed = new Promise<never>((_, reject) => {
    worker.on('message', (m: { t: string; message?: string }) => m.t === 'error' && reject(new Error(`in the worker: ${m.message}`)));
    worker.on('error', reject);
  });
  failed.catch(() => {});
  await Promise.race([once(worker, 'message'), failed]);
  const conn = openChannel(port1);
  conn.resume();
  return {
    stream: conn,
    async finish() {
      const closed = once(conn, 'close');
      conn.end();
      await Promise.race([closed, failed]);
      await worker.terminate();
    },
  };
}

async function openThreadStream(counter: BigInt64Array): Promise<Opened> {
  const mod = await requirePeer<{ default: typeof ThreadStreamClass }>('thread-stream');
  const ThreadStream = mod.default;
  const job: SinkJob = { kind: 'thread-stream', counter };
  const ts = new ThreadStream({ filename: sinkPath(), workerData: job, sync: false, workerOpts: { execArgv: process.execArgv } });
  await once(ts, 'ready');
  return {
    stream: ts as unknown as Writable,
    async finish() {
      const closed = once(ts, 'close');
      ts.end();
      await closed;
    },
  };
}

export async function toWorkerOneWay(kind: ToWorkerKind, size: number, warmMs: number, ms: number): Promise<ToWorkerSample> {
  const what = `to-worker ${kind} ${size} B`;
  const limit = warmMs + ms + 30_000;
  const counter = new BigInt64Array(new SharedArrayBuffer(8));
  const received = () => Number(Atomics.load(counter, 0)); // SYNC POINT with count() in to-worker-sink.ts
  const opened = await withTimeout(kind === 'channel' ? openChannelSink(counter) : openThreadStream(counter), limit, `${what}: starting`);
  const ch: Channel = { id: 0, stream: opened.stream, written: 0, close: async () => {} };
  const chunk = Buffer.alloc(size, 0x61);
  // The warm-up starts once the first bytes have arrived: a fresh worker takes a while to start reading.
  const started = performance.now();
  while (received() === 0) {
    if (performance.now() - started > limit) throw new Error(`${what}: nothing arrived after ${limit} ms`);
    await writeUntil(ch, chunk, performance.now() + 1);
  }
  /** Writes through one window; a window in which nothing arrived (a starved worker) is taken again, after no further warm-up. */
  const window = async (warm: number): Promise<WindowReading> => {
    const win = new TimedWindow(received, warm, ms);
    let closed = false;
    void win.result.then(() => (closed = true));
    try {
      while (!closed) await writeUntil(ch, chunk, performance.now() + SLICE_MS);
      return await win.result;
    } finally {
      win.cancel();
    }
  };
  let w = await window(warmMs);
  while (w.count <= 0) {
    if (performance.now() - started > limit) throw new Error(`${what}: nothing arrived in a timed window for ${limit} ms`);
    w = await window(0);
  }
  await withTimeout(opened.finish(), limit, `${what}: ending`);
  if (received() !== ch.written) throw new Error(`${what}: wrote ${ch.written} bytes, the worker counted ${received()}`);
  return { ...rates(w.count, w.ms, size), cpu: (w.cpuUs / 1e3 / w.ms) * 100 };
}
