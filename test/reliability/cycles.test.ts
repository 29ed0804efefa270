/**
 * Nothing leaks, nothing is lost (the light versions; `npm run test:stress`
 * runs 1,000 cycles and 200 concurrent connections):
 *
 *  - 50 connect → transfer → close cycles with both ends in this process:
 *    open fds, /dev/shm names and mapped shmnet regions return to their
 *    starting counts, RSS growth stays bounded;
 *  - 20 concurrent connections from another process, each echoing 1 MiB
 *    with SHA-256 checked on both sides.
 *
 * Mapped regions are SharedArrayBuffers: V8 unmaps one when the collector
 * frees its backing store, not when the Conn closes. So the count is taken
 * after forcing collections (`settleMappings`), which is also what shows
 * that nothing keeps a closed connection's memory reachable.
 */
import t from 'tap';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { createServer, connect, type Conn, type Server } from '../../src/index.js';
import { forkFixture } from '../helpers/peer.js';
import { hashUntilEnd, randomChunkSize, sendRandom } from '../helpers/stream.js';
import { fdCount, gc, Inbox, mappedRegions, resources, settleMappings, shmNames, waitFor } from '../fixtures/reliability-lib.js';

const CYCLES = 50;
const CONCURRENT = 20;

t.teardown(() => {
  const left = shmNames(process.pid);
  if (left.length > 0) throw new Error(`names left in /dev/shm: ${left.join(', ')}`);
});

/** An echo server that also hashes what each connection sent it, by the client's port. */
async function hashingEchoServer(): Promise<{ server: Server; port: number; received: Map<number, string>; open: Set<Conn> }> {
  const received = new Map<number, string>();
  const open = new Set<Conn>();
  const server = createServer({ ringSize: 65536, allowHalfOpen: true }, (conn) => {
    open.add(conn);
    const h = createHash('sha256');
    const port = conn.remotePort!;
    conn.on('data', (d: Buffer) => h.update(d));
    conn.on('end', () => received.set(port, h.digest('hex')));
    conn.on('error', () => {});
    conn.on('close', () => open.delete(conn));
    conn.pipe(conn);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, received, open };
}

async function cycle(port: number): Promise<boolean> {
  const c = connect({ port, host: '127.0.0.1' });
  await once(c, 'connect');
  const back = hashUntilEnd(c);
  const sent = await sendRandom(c, randomChunkSize(1 << 20), 65536);
  const got = await back;
  if (!c.closed) await once(c, 'close');
  return got.sha === sent && c.transport === 'shm';
}

t.test(`${CYCLES} connect → transfer → close cycles return every resource`, async (t) => {
  const srv = await hashingEchoServer();
  // Warm up: the first connection loads the addon, creates the libuv pool, grows the heap.
  for (let i = 0; i < 3; i++) await cycle(srv.port);
  await waitFor(() => srv.open.size === 0);
  await settleMappings(0);
  gc();
  const before = resources();
  let ok = 0;
  for (let i = 0; i < CYCLES; i++) if (await cycle(srv.port)) ok++;
  t.equal(ok, CYCLES, 'every cycle delivered every byte over shared memory (SHA-256)');
  t.ok(await waitFor(() => srv.open.size === 0), 'the server side closed every connection');
  const mapsBeforeGc = mappedRegions();
  const maps = await settleMappings(before.maps);
  t.ok(await waitFor(() => fdCount() <= before.fds), 'open fds back to the start');
  gc();
  const after = resources();
  t.comment(`fds ${before.fds} → ${after.fds}; /dev/shm names ${before.shm} → ${after.shm}; mapped regions ${before.maps} → ${mapsBeforeGc} (before gc) → ${maps}; RSS ${(before.rss / 2 ** 20).toFixed(1)} → ${(after.rss / 2 ** 20).toFixed(1)} MiB`);
  t.equal(after.fds, before.fds, 'fds');
  t.equal(after.shm, 0, 'no /dev/shm names');
  t.equal(maps, before.maps, 'mapped regions, once collected');
  t.ok(after.rss - before.rss < 64 * 2 ** 20, `RSS grew by ${((after.rss - before.rss) / 2 ** 20).toFixed(1)} MiB (< 64 MiB)`);
  srv.server.close();
});

t.test(`${CONCURRENT} concurrent connections from another process, SHA-256 checked both ways`, async (t) => {
  const srv = await hashingEchoServer();
  const child = new Inbox(
    forkFixture('reliability-load.ts', [JSON.stringify({ address: { port: srv.port, host: '127.0.0.1' }, connections: CONCURRENT, bytes: 1 << 20 })]),
  );
  // All of them are open at the same time at some point.
  let peak = 0;
  const iv = setInterval(() => (peak = Math.max(peak, srv.open.size)), 1);
  const { results } = await child.event('done');
  clearInterval(iv);
  t.equal(results.length, CONCURRENT);
  for (const r of results) {
    t.equal(r.code, undefined, `connection ${r.port}: no error`);
    t.equal(r.transport, 'shm');
    t.equal(r.bytes, 1 << 20, `connection ${r.port}: every byte came back`);
    t.equal(r.echoed, r.sent, `connection ${r.port}: echo SHA-256 matches`);
    t.equal(srv.received.get(r.port), r.sent, `connection ${r.port}: the server received exactly what was sent`);
  }
  t.equal(peak, CONCURRENT, `all ${CONCURRENT} were open on the server at once`);
  await child.exited();
  t.ok(await waitFor(() => srv.open.size === 0), 'every server-side connection closed');
  srv.server.close();
});
