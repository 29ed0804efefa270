/**
 * A receiving Conn shares its thread: however fast the peer writes, the
 * engine hands the event loop back between batches, as a net.Socket does
 * (libuv reads a bounded amount per poll), so timers and other I/O keep
 * running. The receiver here is deliberately slower than the sender (each
 * 'data' costs ~0.2 ms of work), so the ring never runs empty; a 10 ms
 * interval must keep ticking while the data flows.
 *
 * Nothing here is a time budget: the watch starts at the first byte (a
 * worker or a child can take seconds to load on a busy machine) and ends
 * when both TICKS ticks and MIN_BYTES bytes were seen. A starving reader
 * never ticks (the source never stops), so the test then hits its timeout;
 * one that yields only now and then fails the loose MAX_GAP_MS bound (a
 * fair reader shows gaps of tens of ms even on a loaded machine).
 */
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { createChannel, openChannel } from '../../src/channel/index.js';
import { createServer, type Conn } from '../../src/index.js';
import { forkFixture, nextMessage } from '../helpers/peer.js';

const TICKS = 50;
const MIN_BYTES = 16 * 1024 * 1024;
const MAX_GAP_MS = 5000;
/** Generous for a machine 5x slower than a quiet one with the other core busy. */
const WATCH_TIMEOUT_MS = 120_000;

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

interface Watched {
  bytes: number;
  /** Ticks that fired after the first byte, while the source kept writing. */
  ticks: number;
  maxGap: number;
}

/** Reads `conn` slowly; resolves once TICKS ticks of a 10 ms interval fired and MIN_BYTES arrived, both after the first byte. */
function watch(conn: Conn): Promise<Watched> {
  return new Promise((resolve) => {
    const r: Watched = { bytes: 0, ticks: 0, maxGap: 0 };
    let last = -1;
    let iv: NodeJS.Timeout | null = null;
    conn.on('data', (d: Buffer) => {
      r.bytes += d.length;
      busy(0.2);
      if (iv !== null) return;
      last = performance.now();
      iv = setInterval(() => {
        const now = performance.now();
        r.maxGap = Math.max(r.maxGap, now - last);
        last = now;
        r.ticks++;
        if (r.ticks >= TICKS && r.bytes >= MIN_BYTES) {
          clearInterval(iv!);
          resolve(r);
        }
      }, 10);
    });
  });
}

function check(t: Test, r: Watched): void {
  t.ok(r.bytes >= MIN_BYTES, `data flowed (${(r.bytes / 1048576).toFixed(0)} MiB)`);
  t.ok(r.ticks >= TICKS, `timers kept running while it flowed: ${r.ticks} ticks`);
  t.ok(r.maxGap < MAX_GAP_MS, `longest gap between ticks ${r.maxGap.toFixed(1)} ms`);
}

t.test('worker channel: a fast writer in a worker does not starve the reading thread', { timeout: WATCH_TIMEOUT_MS }, async (t) => {
  const { port1, port2 } = createChannel({ ringSize: 1024 * 1024 });
  const worker = new Worker(new URL('../fixtures/channel-worker.ts', import.meta.url), {
    workerData: { role: 'source', port: port2, total: 64 * 1024 * 1024 * 1024, maxChunk: 64 * 1024 },
    execArgv: process.execArgv,
  });
  const conn = openChannel(port1);
  conn.on('error', () => {});
  try {
    check(t, await watch(conn));
  } finally {
    await worker.terminate();
    conn.destroy();
  }
});

t.test('shm Conn: a fast writer in another process does not starve the reading process', { timeout: WATCH_TIMEOUT_MS }, async (t) => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const child = forkFixture('conn-peer.ts', [JSON.stringify({ mode: 'source', bytes: 0, address: { port, host: '127.0.0.1' } })]);
  const [conn] = (await once(server, 'connection')) as [Conn];
  conn.on('error', () => {});
  await nextMessage(child, (m) => m.event === 'connect');
  t.equal(conn.transport, 'shm');
  try {
    check(t, await watch(conn));
  } finally {
    child.kill('SIGKILL');
    conn.destroy();
    server.close();
    await once(child, 'exit');
  }
});
