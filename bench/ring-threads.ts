/**
 * The ceiling of a worker channel: the bare ring between two threads, both
 * busy-waiting (no stream, no event loop, no wake-ups), against
 * `MessagePort.postMessage` (structured clone) in the same run. What a
 * channel Conn adds (Writable/Readable, spin-or-park, setImmediate turns)
 * can only lower the ring's figure, so the ratio here bounds the ratio the
 * channel can reach.
 *
 *   node dist/bench/ring-threads.js [seconds per case]          (after npm run build)
 *
 * Cases, per chunk size (1 KiB, 64 KiB), 1 MiB ring:
 *   - ring, fresh Buffer: the reader takes each chunk with readBuffer()
 *     into a new Buffer, as every Readable must hand out memory it owns;
 *   - ring, reused target: the reader copies into one fixed buffer (what no
 *     stream may do; the copy-only ceiling);
 *   - MessagePort clone: postMessage(chunk) per chunk, with credit-based
 *     flow control (at most 4 MiB in flight), the receiver counting bytes.
 * Each case runs in fresh workers; MB/s over the timed part after a warm-up.
 */
import { isMainThread, MessageChannel, parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import { regionSize, ringOffsets } from '../src/ring/header.js';
import { RING_C2S } from '../src/ring/layout.js';
import { initRing, RingConsumer, RingProducer } from '../src/ring/ring.js';

const CAPACITY = 1 << 20;
const WINDOW = 4 << 20;
type Kind = 'fresh' | 'reuse' | 'clone';

interface Job {
  role: 'writer' | 'reader';
  kind: Kind;
  size: number;
  sab?: SharedArrayBuffer;
  port?: MessagePort;
  /** Shared words: [stop]. */
  flags: SharedArrayBuffer;
  warmMs: number;
  ms: number;
}

function ring(): { controlOffset: number; dataOffset: number } {
  return ringOffsets(CAPACITY)[RING_C2S]!;
}

/**
 * The reader's timed window: given the bytes received so far, starts
 * timing after the warm-up, and once the timed part is over raises the
 * stop flag, posts the result and returns true.
 */
function windowClock(job: Job, flags: Int32Array): (got: number) => boolean {
  const start = performance.now();
  let t0 = 0;
  let base = 0;
  return (got) => {
    const now = performance.now();
    if (t0 === 0) {
      if (now - start >= job.warmMs) {
        t0 = now;
        base = got;
      }
      return false;
    }
    if (now - t0 < job.ms) return false;
    Atomics.store(flags, 0, 1);
    parentPort!.postMessage({ bytes: got - base, ms: now - t0 });
    return true;
  };
}

/** Runs in a worker: one side of one case; posts the bytes moved in the timed part. */
function side(job: Job): void {
  const flags = new Int32Array(job.flags);
  const stop = () => Atomics.load(flags, 0) === 1;
  if (job.kind === 'clone') {
    const port = job.port!;
    if (job.role === 'writer') {
      const chunk = Buffer.alloc(job.size, 0x61);
      let sent = 0;
      let acked = 0;
      const pump = () => {
        while (!stop() && sent - acked < WINDOW) {
          port.postMessage(chunk);
          sent += job.size;
        }
        if (stop()) port.close();
      };
      port.on('message', (n: number) => {
        acked += n;
        pump();
      });
      pump();
      return;
    }
    let got = 0;
    let unacked = 0;
    const ended = windowClock(job, flags);
    port.on('message', (m: Uint8Array) => {
      got += m.byteLength;
      unacked += m.byteLength;
      if (unacked >= 256 * 1024) {
        port.postMessage(unacked);
        unacked = 0;
      }
      if (ended(got)) port.close();
    });
    return;
  }
  const sab = job.sab!;
  const { controlOffset, dataOffset } = ring();
  if (job.role === 'writer') {
    const producer = new RingProducer(sab, controlOffset, dataOffset, CAPACITY);
    const chunk = Buffer.alloc(job.size, 0x61);
    while (!stop()) {
      for (let i = 0; i < 64; i++) producer.write(chunk);
    }
    parentPort!.postMessage({ bytes: 0, ms: 0 });
    return;
  }
  const consumer = new RingConsumer(sab, controlOffset, dataOffset, CAPACITY);
  const target = new Uint8Array(64 * 1024);
  let got = 0;
  const ended = windowClock(job, flags);
  for (let iter = 1; ; iter++) {
    if (job.kind === 'fresh') {
      const b = consumer.readBuffer(64 * 1024);
      if (b !== null) got += b.length;
    } else {
      got += consumer.read(target);
    }
    if ((iter & 63) === 0 && ended(got)) return;
  }
}

async function runCase(kind: Kind, size: number, warmMs: number, ms: number): Promise<number> {
  const flags = new SharedArrayBuffer(8);
  const base = { kind, size, flags, warmMs, ms };
  let writer: Job;
  let reader: Job;
  let transfer: [MessagePort[], MessagePort[]] = [[], []];
  if (kind === 'clone') {
    const { port1, port2 } = new MessageChannel();
    writer = { ...base, role: 'writer', port: port1 };
    reader = { ...base, role: 'reader', port: port2 };
    transfer = [[port1], [port2]];
  } else {
    const sab = new SharedArrayBuffer(regionSize(CAPACITY));
    initRing(sab, ring().controlOffset);
    writer = { ...base, role: 'writer', sab };
    reader = { ...base, role: 'reader', sab };
  }
  const opts = { execArgv: process.execArgv };
  const r = new Worker(new URL(import.meta.url), { ...opts, workerData: reader, transferList: transfer[1] });
  const w = new Worker(new URL(import.meta.url), { ...opts, workerData: writer, transferList: transfer[0] });
  const result = await new Promise<{ bytes: number; ms: number }>((resolve, reject) => {
    r.once('message', resolve);
    r.once('error', reject);
    w.once('error', reject);
  });
  await Promise.all([r.terminate(), w.terminate()]);
  return result.bytes / result.ms / 1e3;
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 1);
  const warmMs = 200;
  const ms = seconds * 1000;
  console.log(`# ring between two busy threads vs MessagePort clone; Node ${process.version}; ${seconds} s per case, median of 3`);
  console.log('| chunk | ring, fresh Buffer per read | ring, reused target | MessagePort clone | fresh / clone |');
  console.log('|---|---:|---:|---:|---:|');
  for (const size of [1024, 64 * 1024]) {
    const m: Record<Kind, number[]> = { fresh: [], reuse: [], clone: [] };
    for (let rep = 0; rep < 3; rep++) for (const kind of ['fresh', 'reuse', 'clone'] as const) m[kind].push(await runCase(kind, size, warmMs, ms));
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    const f = med(m.fresh);
    const c = med(m.clone);
    console.log(`| ${size / 1024} KiB | ${f.toFixed(0)} | ${med(m.reuse).toFixed(0)} | ${c.toFixed(0)} | ${(f / c).toFixed(2)}× |`);
  }
}

if (isMainThread) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
} else {
  side(workerData as Job);
}
