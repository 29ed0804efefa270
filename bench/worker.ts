/**
 * Worker channel vs MessagePort: one-way throughput from a worker thread
 * to the main thread. One sample, for one kind and chunk size:
 *
 *   1. start a fresh worker (worker-sender.ts) with its end of a worker
 *      channel (`createChannel()`, defaults or tuned) or of a
 *      MessageChannel, and wait until it is ready. Two more channel kinds
 *      read differently on the main thread: `onread` into one reused
 *      1 MiB buffer, and `lanes` (the worker fills claimed ring views, the
 *      main thread borrows them in place); both touch every cache line
 *      they receive, as a real consumer would;
 *   2. tell it to go: it writes `size`-byte chunks without pause, with
 *      backpressure (channel: `write()` false → 'drain'; MessagePort:
 *      credit-based flow control, the main thread acknowledges every
 *      256 KiB);
 *   3. the main thread counts received bytes; the count is read once
 *      `warmMs` have passed since 'go' and again `ms` later (window.ts,
 *      polled every 64 KiB received), and the sample is the bytes received
 *      in that window over its length;
 *   4. when the window closes, tell the worker to stop: it ends its stream
 *      and reports how many
 *      chunks it wrote; the main thread reads to the end and checks it got
 *      exactly that many bytes, every chunk carrying its sequence number in
 *      order (so a broken channel fails the run rather than report a speed);
 *      then the worker is terminated.
 */
import { once } from 'node:events';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { createChannel, openChannel, type ChannelPort } from '../src/index.js';
import type { Conn } from '../src/index.js';
import { rates } from './stats.js';
import { closeStream } from './transports.js';
import { TimedWindow, withTimeout } from './window.js';
import { touchLines } from './touch.js';

export type WorkerKind = 'channel' | 'tuned' | 'onread' | 'lanes' | 'clone' | 'transfer';
export const WORKER_KINDS: readonly WorkerKind[] = ['channel', 'tuned', 'onread', 'lanes', 'clone', 'transfer'];
/** The receive buffer of the `onread` kind. */
const ONREAD_BUFFER = 1 << 20;
export const WORKER_SIZES = [1 << 10, 64 << 10];

/** createChannel options per channel kind. */
export const CHANNEL_OPTIONS = {
  channel: {},
  tuned: { ringSize: 4 * 1024 * 1024, spin: 1000 },
  onread: {},
  lanes: {},
} as const;

/** The channel kinds: the main thread reads with 'data' (channel, tuned), onread, or borrowed views (lanes). */
export function isChannelKind(kind: WorkerKind): kind is keyof typeof CHANNEL_OPTIONS {
  return kind in CHANNEL_OPTIONS;
}

/** What the worker gets as workerData. */
export interface WorkerJob {
  kind: WorkerKind;
  size: number;
  port: ChannelPort | MessagePort;
}

export interface WorkerSample {
  /** Bytes the main thread received inside the timed window. */
  bytes: number;
  seconds: number;
  /** 10^6 bytes per second. */
  mbps: number;
  opsPerSec: number;
  nsPerOp: number;
  /** CPU the process (worker and main thread together) used in the window, % of one core. */
  cpu: number;
  /** Chunks the worker wrote in the whole sample; all arrived, in order. */
  chunks: number;
  /** How late the later of the two window readings was, ms (diagnostic: the receiving loop was busy). */
  lateMs: number;
}

/** The main thread acknowledges MessagePort chunks every this many bytes. */
const ACK_EVERY = 256 * 1024;
/** The main thread polls the window every this many bytes received. */
const POLL_EVERY = 64 * 1024;

function workerPath(): URL {
  const self = fileURLToPath(import.meta.url);
  return new URL(`./worker-sender${extname(self)}`, import.meta.url);
}

/**
 * Checks the sequence numbers of a byte stream of `size`-byte chunks as it
 * arrives in pieces of any length. Only the first four bytes of each chunk
 * are read.
 */
class SequenceCheck {
  /** Bytes of the current chunk seen so far. */
  #at = 0;
  #head = 0;
  /** Chunks complete so far. */
  seq = 0;
  failure: string | null = null;

  constructor(readonly size: number) {}

  feed(d: Uint8Array, n = d.length): void {
    const size = this.size;
    let i = 0;
    while (i < n) {
      if (this.#at < 4) {
        while (this.#at < 4 && i < n) this.#head |= d[i++]! << (8 * this.#at++);
        if (this.#at === 4 && this.#head >>> 0 !== this.seq >>> 0) {
          this.failure ??= `chunk ${this.seq} arrived with sequence number ${this.#head >>> 0}`;
        }
        continue;
      }
      const skip = Math.min(size - this.#at, n - i);
      i += skip;
      this.#at += skip;
      if (this.#at === size) {
        this.#at = 0;
        this.#head = 0;
        this.seq++;
      }
    }
  }
}

function seqOf(m: Uint8Array): number {
  return (m[0]! | (m[1]! << 8) | (m[2]! << 16) | (m[3]! << 24)) >>> 0;
}

/** One sample of worker → main-thread throughput. */
export async function workerOneWay(kind: WorkerKind, size: number, warmMs: number, ms: number): Promise<WorkerSample> {
  const what = `worker ${kind} ${size} B`;
  const limit = warmMs + ms + 30_000;
  const isChannel = isChannelKind(kind);
  let got = 0;
  let nextPoll = POLL_EVERY;
  let win: TimedWindow | null = null;
  /** Called after every delivery; cheap unless another POLL_EVERY bytes have arrived. */
  const received = (): void => {
    if (got >= nextPoll) {
      nextPoll = got + POLL_EVERY;
      win?.poll();
    }
  };
  let failure: string | null = null;
  /** Resolves when the worker's stream has ended on this side. */
  let ended!: Promise<void>;
  let check: () => number;
  let cleanup: () => Promise<void>;
  let job: WorkerJob;
  let transferList: MessagePort[] = [];
  let fail: (err: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => {});

  if (isChannel) {
    const { port1, port2 } = createChannel(CHANNEL_OPTIONS[kind]);
    job = { kind, size, port: port2 };
    const seq = new SequenceCheck(size);
    const take = (b: Uint8Array, n: number): void => {
      got += n;
      seq.feed(b, n);
      touchLines(b, n);
      received();
    };
    const conn: Conn =
      kind === 'onread' ? openChannel(port1, { onread: { buffer: Buffer.allocUnsafe(ONREAD_BUFFER), callback: (n, b) => take(b, n) } }) : openChannel(port1);
    if (kind === 'lanes') {
      conn.pause();
      const drain = (): void => {
        for (;;) {
          const v = conn.borrow();
          if (v === null) return;
          take(v, v.length);
          conn.release(v.length);
        }
      };
      conn.on('borrowable', drain);
      drain();
    } else if (kind !== 'onread') {
      conn.on('data', (d: Buffer) => {
        got += d.length;
        seq.feed(d);
        received();
      });
    }
    conn.on('error', (err) => fail(new Error(`${what}: ${err.message}`)));
    ended = once(conn, 'end').then(() => undefined);
    check = () => {
      failure ??= seq.failure;
      return seq.seq;
    };
    cleanup = () => closeStream(conn);
  } else {
    const mc = new MessageChannel();
    job = { kind, size, port: mc.port2 };
    transferList = [mc.port2];
    const port = mc.port1;
    let seq = 0;
    let unacked = 0;
    let onEnd: () => void = () => {};
    ended = new Promise((resolve) => (onEnd = resolve));
    port.on('message', (m: Uint8Array | null) => {
      if (m === null) {
        onEnd();
        return;
      }
      if (m.byteLength !== size || seqOf(m) !== seq >>> 0) {
        failure ??= `chunk ${seq} arrived with ${m.byteLength} bytes and sequence number ${seqOf(m)}`;
      }
      seq++;
      got += m.byteLength;
      unacked += m.byteLength;
      if (unacked >= ACK_EVERY) {
        port.postMessage(unacked);
        unacked = 0;
      }
      received();
    });
    check = () => seq;
    cleanup = async () => port.close();
  }

  const worker = new Worker(workerPath(), { workerData: job, transferList, execArgv: process.execArgv });
  let stopped: Promise<number>;
  try {
    const ready = new Promise<void>((resolve) => {
      let onStopped: (n: number) => void = () => {};
      stopped = new Promise((r) => (onStopped = r));
      worker.on('message', (m: { t: 'ready' } | { t: 'stopped'; chunks: number } | { t: 'error'; message: string }) => {
        if (m.t === 'ready') resolve();
        else if (m.t === 'stopped') onStopped(m.chunks);
        else fail(new Error(`${what}: in the worker: ${m.message}`));
      });
      worker.on('error', (err) => fail(new Error(`${what}: the worker failed: ${err.message}`)));
      worker.on('exit', (code) => fail(new Error(`${what}: the worker exited (code ${code})`)));
    });
    await withTimeout(Promise.race([ready, failed]), limit, `${what}: starting the worker`);
    // The worker is told to stop from inside the delivery loop (see window.ts).
    const tw = new TimedWindow(() => got, warmMs, ms, () => worker.postMessage('stop'));
    win = tw;
    worker.postMessage('go');
    let w;
    try {
      w = await withTimeout(Promise.race([tw.result, failed]), limit, what);
    } finally {
      tw.cancel();
    }
    const chunks = await withTimeout(Promise.race([stopped!, failed]), limit, `${what}: stopping`);
    await withTimeout(Promise.race([ended, failed]), limit, `${what}: draining`);
    const seen = check();
    if (failure !== null) throw new Error(`${what}: ${failure}`);
    if (seen !== chunks || got !== chunks * size) {
      throw new Error(`${what}: the worker wrote ${chunks} chunks (${chunks * size} bytes); ${seen} whole chunks (${got} bytes) arrived`);
    }
    if (w.count <= 0) throw new Error(`${what}: nothing arrived in the timed window`);
    return {
      ...rates(w.count, w.ms, size),
      cpu: (w.cpuUs / 1e3 / w.ms) * 100,
      chunks,
      lateMs: tw.lateMs,
    };
  } finally {
    worker.removeAllListeners('exit');
    await cleanup();
    await worker.terminate();
  }
}
