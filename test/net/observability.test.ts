/** conn.stats(), server.stats() and the diagnostics_channel events. */
import t from 'tap';
import diagnostics from 'node:diagnostics_channel';
import { once } from 'node:events';
import { createServer, connect, type Conn } from '../../src/index.js';
import { forkFixture, nextMessage, waitExit } from '../helpers/peer.js';
import { hashUntilEnd, sendRandom } from '../helpers/stream.js';

t.test('stats add up across the two sides', async (t) => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as any;
  const client = connect({ port, host: '127.0.0.1' });
  const [[sc]] = await Promise.all([once(server, 'connection') as Promise<[Conn]>, once(client, 'connect')]);
  const N = 64 * 1024 * 1024;
  const closed = Promise.all([once(client, 'close'), once(sc, 'close')]);
  const got = hashUntilEnd(sc);
  client.resume();
  const sent = await sendRandom(client, N, 4096);
  t.equal((await got).sha, sent);
  await closed;
  const cs = client.stats() as any;
  const ss = sc.stats() as any;
  t.equal(cs.transport, 'shm');
  t.equal(cs.segment, 'named');
  t.equal(cs.ringSize, 1 << 20);
  t.equal(cs.bytesWritten, N, 'bytes out on the client');
  t.equal(ss.bytesRead, N, 'equal bytes in on the server');
  t.ok(cs.chunksOut >= N / 4096, `chunks out ${cs.chunksOut}`);
  t.ok(ss.chunksIn > 0 && ss.chunksIn <= cs.chunksOut, `reads are batched (${ss.chunksIn} pushes for ${cs.chunksOut} writes)`);
  t.ok(cs.doorbellsSent + ss.doorbellsSent < cs.chunksOut / 10, `doorbells (${cs.doorbellsSent}+${ss.doorbellsSent}) far fewer than chunks (${cs.chunksOut})`);
  // The last bells (FIN) may arrive after the receiver closed; none is invented.
  t.ok(ss.doorbellsReceived <= cs.doorbellsSent && ss.doorbellsReceived >= cs.doorbellsSent - 2, 'bells rung ≈ bells heard');
  t.ok(ss.peakRxOccupancy > 0 && ss.peakRxOccupancy <= 1 << 20);
  t.type(cs.handshakeMs, 'number');
  t.ok(cs.handshakeMs > 0);
  for (const k of ['parks', 'spinTurns', 'peakTxOccupancy', 'rxOccupancy', 'txOccupancy']) t.type(cs[k], 'number', k);
  t.type(cs.parked, 'boolean', 'parked');
  const agg = server.stats() as any;
  t.equal(agg.connections, 0, 'the connection has closed');
  t.equal(agg.bytesIn, N, 'bytes of closed connections still count');
  t.equal(agg.accepted, 1);
  server.close();
  await once(server, 'close');
});

t.test('diagnostics_channel: connect, handshake, fallback and close events with codes', async (t) => {
  const seen: Array<[string, any]> = [];
  const subs: Array<[string, (m: unknown) => void]> = [];
  for (const name of ['shmnet:connect', 'shmnet:handshake', 'shmnet:fallback', 'shmnet:close']) {
    const fn = (m: unknown) => seen.push([name, m]);
    diagnostics.subscribe(name, fn);
    subs.push([name, fn]);
  }
  t.teardown(() => subs.forEach(([n, f]) => diagnostics.unsubscribe(n, f)));

  const server = createServer((c) => c.resume());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as any;

  // 1. a clean shm connection
  const c1 = connect({ port, host: '127.0.0.1' });
  await once(c1, 'connect');
  c1.resume();
  c1.end('x');
  await once(c1, 'close');
  // 2. a fallback (the child says it is on another host)
  const child = forkFixture('conn-peer.ts', [JSON.stringify({ mode: 'sink', address: { port, host: '127.0.0.1' } })], {
    SHMNET_HOST_ID: 'elsewhere:1',
  });
  const r = await nextMessage(child, (m) => m.event === 'connect');
  t.equal(r.transport, 'tcp');
  child.kill('SIGKILL');
  await waitExit(child);
  // 3. a connection that dies with an error
  const c3 = connect({ port, host: '127.0.0.1' });
  await once(c3, 'connect');
  c3.on('error', () => {});
  const c3closed = new Promise((r) => c3.once('close', r));
  c3.destroy(Object.assign(new Error('boom'), { code: 'SHMNET_ERR_TEST' }));
  await c3closed;
  // The server side learns of each close over its control socket: wait for all three.
  while (seen.filter(([n, m]) => n === 'shmnet:close' && m.role === 'server').length < 3) await new Promise((r) => setTimeout(r, 5));

  const of = (name: string, role?: string) => seen.filter(([n, m]) => n === name && (!role || m.role === role)).map(([, m]) => m);
  t.equal(of('shmnet:connect', 'client').length, 2, 'two client connects in this process');
  t.equal(of('shmnet:connect', 'server').length, 3, 'three accepted sockets');
  const hs = of('shmnet:handshake', 'server');
  t.same(hs.map((m) => m.transport), ['shm', 'tcp', 'shm']);
  t.ok(hs.every((m) => m.code === null && m.durationMs >= 0));
  const fb = of('shmnet:fallback');
  t.equal(fb.length, 1);
  t.equal(fb[0].role, 'server');
  t.match(fb[0].reason, /different hosts/);
  const closes = of('shmnet:close', 'client');
  t.same(closes.map((m) => m.code), [null, 'SHMNET_ERR_TEST'], 'close events carry the error code');
  t.equal(closes[0].bytesWritten, 1);
  const serverCloses = of('shmnet:close', 'server');
  // Over the socket (fallback) a killed peer looks like TCP's FIN: a clean close.
  t.same(serverCloses.map((m) => m.transport).sort(), ['shm', 'shm', 'tcp'], 'every server-side Conn reported its close');
  server.close();
  await once(server, 'close');
});
