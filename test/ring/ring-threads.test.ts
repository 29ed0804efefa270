/**
 * Two-party run across two worker threads (real concurrency): a producer
 * streams 64 MiB (256 MiB through the zero-copy lanes, in the smallest
 * ring) of seeded pseudo-random data in chunks of 1 B..64 KiB, a
 * consumer reads it in random sizes, both park and wake through
 * Atomics.wait/notify on the parked words. Everything sent must arrive,
 * in order: SHA-256 of both sides compared.
 *
 * Workers, not processes: a plain SharedArrayBuffer cannot be shared
 * across processes without the native mapping addon.
 */
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { regionSize, ringOffsets } from '../../src/ring/header.js';
import { MIN_CAPACITY, RING_C2S } from '../../src/ring/layout.js';
import { initRing } from '../../src/ring/ring.js';

interface Report {
  role: string;
  sha256: string;
  bytes: number;
  parks: number;
  wakes: number;
  timeouts: number;
}

function run(workerData: object): Promise<Report> {
  // process.execArgv carries tap's TypeScript loader into the worker.
  const w = new Worker(new URL('../fixtures/ring-worker.ts', import.meta.url), { workerData, execArgv: process.execArgv });
  return new Promise((resolve, reject) => {
    let report: Report | undefined;
    w.once('message', (m: Report) => (report = m));
    w.once('error', reject);
    w.once('exit', (code) => (report && code === 0 ? resolve(report) : reject(new Error(`worker exited with ${code} before reporting`))));
  });
}

const cases = [
  { capacity: 64 * 1024, total: 64 * 1024 * 1024, lanes: false },
  { capacity: 1024 * 1024, total: 64 * 1024 * 1024, lanes: false },
  // The zero-copy lanes (claim/commit → borrow/release) through the smallest ring: wraps at every offset.
  { capacity: MIN_CAPACITY, total: 256 * 1024 * 1024, lanes: true },
];

for (const { capacity, total, lanes } of cases) {
  t.test(`${total >> 20} MiB through a ${capacity / 1024} KiB ring between two threads${lanes ? ', claim/commit into borrow/release' : ''}`, async (t) => {
    const sab = new SharedArrayBuffer(regionSize(capacity));
    const { controlOffset, dataOffset } = ringOffsets(capacity)[RING_C2S]!;
    initRing(sab, controlOffset);
    const common = { sab, controlOffset, dataOffset, capacity, total, lanes, seed: capacity ^ 0x1234567 };
    const [producer, consumer] = await Promise.all([run({ ...common, role: 'producer' }), run({ ...common, role: 'consumer' })]);
    t.equal(producer.bytes, total, 'producer sent everything');
    t.equal(consumer.bytes, total, 'consumer received everything');
    t.match(producer.sha256, /^[0-9a-f]{64}$/);
    t.equal(consumer.sha256, producer.sha256, 'SHA-256 of received == sent');
    t.equal(producer.timeouts + consumer.timeouts, 0, 'no lost wake-ups');
    t.comment(`producer parks ${producer.parks} wakes ${producer.wakes}; consumer parks ${consumer.parks} wakes ${consumer.wakes}`);
  });
}
