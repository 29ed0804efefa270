/**
 * A receiving Conn shares its thread: however fast the peer writes, the
 * engine hands the event loop back between batches, as a net.Socket does
 * (libuv reads a bounded amount per poll), so timers and other I/O keep
 * running. The receiver here is deliberately slower than the sender (each
 * 'data' costs ~0.2 ms of work), so the ring never runs empty; a 10 ms
 * interval must keep firing on time while the data flows.
 */
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { createChannel, openChannel } from '../../src/channel/index.js';
import { createServer, type Conn } from '../../src/index.js';
import { forkFixture, nextMessage } from '../helpers/peer.js';

const WATCH_MS = 1500;
const MAX_GAP_MS = 250;

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** Reads `conn` slowly for WATCH_MS; returns the longest gap between 10 ms interval ticks and the bytes read. */
async function watch(conn: Conn): Promise<{ maxGap: number; bytes: number; ticks: number }> {
  let bytes = 0;
  conn.on('data', (d: Buffer) => {
    bytes += d.length;
    busy(0.2);
  });
  let last = performance.now();
  let maxGap = 0;
  let ticks = 0;
  const iv = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    ticks++;
  }, 10);
  await new Promise((r) => setTimeout(r, WATCH_MS));
  clearInterval(iv);
  // The tick that ends a starved stretch may come after the timeout above.
  maxGap = Math.max(maxGap, performance.now() - last);
  return { maxGap, bytes, ticks };
}

function check(t: Test, r: { maxGap: number; bytes: number; ticks: number }): void {
  t.ok(r.bytes > 8 * 1024 * 1024, `data flowed (${(r.bytes / 1048576).toFixed(0)} MiB)`);
  t.ok(r.maxGap < MAX_GAP_MS, `timers kept running: longest gap ${r.maxGap.toFixed(1)} ms over ${r.ticks} ticks`);
}

t.test('worker channel: a fast writer in a worker does not starve the reading thread', async (t) => {
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

t.test('shm Conn: a fast writer in another process does not starve the reading process', async (t) => {
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
