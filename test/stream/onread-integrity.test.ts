/**
 * Cross-process integrity through onread: 256 MiB in random chunk sizes
 * (1 B to 1 MiB) between this process and a forked peer, over a ring of
 * the minimum size, read with onread into buffers of random size at
 * random offsets (so reads and writes end at every offset class of the
 * ring and wrap around it tens of thousands of times). SHA-256 of what was
 * sent equals what the callbacks saw. Both ends: a server's Conn reading
 * with createServer's onread, and a client reading with connect's; the
 * second also over the socket fallback.
 */
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { createServer, type Conn } from '../../src/index.js';
import { MIN_CAPACITY } from '../../src/ring/layout.js';
import { expectNoNamesLeft, forkFixture, nextMessage, socketPath, waitExit } from '../helpers/peer.js';
import { hashingOnread, sendRandom } from '../helpers/stream.js';

const TOTAL = 256 * 1024 * 1024;
expectNoNamesLeft(t);

t.test("a server's Conn reads 256 MiB from a peer process through onread", async (t) => {
  const sink = hashingOnread();
  const server = createServer({ ringSize: MIN_CAPACITY, onread: sink.onread });
  const path = socketPath();
  server.listen(path);
  await once(server, 'listening');
  const child = forkFixture('conn-peer.ts', [JSON.stringify({ mode: 'source', address: { path }, bytes: TOTAL, options: { ringSize: MIN_CAPACITY } })]);
  const [conn] = (await once(server, 'connection')) as [Conn];
  t.equal(conn.transport, 'shm');
  t.equal(conn.stats().ringSize, MIN_CAPACITY, 'the ring has the minimum size');
  const got = sink.done(conn);
  const sent = await nextMessage(child, (m) => m.event === 'done');
  const r = await got;
  t.equal(r.bytes, TOTAL, 'every byte arrived');
  t.equal(r.sha, sent.sha, 'SHA-256 peer → onread matches');
  t.comment(`${r.calls} callbacks`);
  conn.end();
  t.equal(await waitExit(child), 0, 'the peer exited cleanly');
  server.close();
  await once(server, 'close');
});

async function clientReads(t: Test, transport: 'auto' | 'tcp') {
  const server = createServer({ ringSize: MIN_CAPACITY });
  const path = socketPath();
  server.listen(path);
  await once(server, 'listening');
  const child = forkFixture('conn-peer.ts', [JSON.stringify({ mode: 'onread-sink', address: { path }, options: { ringSize: MIN_CAPACITY, transport } })]);
  const [conn] = (await once(server, 'connection')) as [Conn];
  t.equal(conn.transport, transport === 'auto' ? 'shm' : 'tcp');
  const done = nextMessage(child, (m) => m.event === 'done');
  conn.resume();
  const sent = await sendRandom(conn, TOTAL);
  const r = await done;
  t.equal(r.bytes, TOTAL, 'every byte arrived');
  t.equal(r.sha, sent, 'SHA-256 → peer onread matches');
  t.comment(`${r.calls} callbacks`);
  if (!conn.destroyed) await once(conn, 'close');
  t.equal(await waitExit(child), 0, 'the peer exited cleanly');
  server.close();
  await once(server, 'close');
}

t.test("a client in a peer process reads 256 MiB through connect's onread", (t) => clientReads(t, 'auto'));
t.test("the same over the socket fallback ('tcp')", (t) => clientReads(t, 'tcp'));
