/** Conn behaviour as a net.Socket user expects it (both peers in this process). */
import t from 'tap';
import { once } from 'node:events';
import { createServer as createNetServer, connect as netConnect, type AddressInfo } from 'node:net';
import { createServer, connect, codes, Conn, type Server } from '../../src/index.js';
import { forkFixture, nextMessage, shmEntries, waitExit } from '../helpers/peer.js';
import { hashUntilEnd, sendRandom } from '../helpers/stream.js';

const OWN_NAMES = `shmnet.${process.pid.toString(36)}.`;
t.teardown(() => {
  const left = shmEntries(OWN_NAMES);
  if (left.length > 0) throw new Error(`names left in /dev/shm: ${left.join(', ')}`);
});

/** Conns that have emitted 'close' (`closed` turns true earlier, at destroy(), as on a net.Socket). */
const closeEmitted = new WeakSet<object>();
const emit = Conn.prototype.emit;
Conn.prototype.emit = function (this: Conn, event: string | symbol, ...args: unknown[]): boolean {
  if (event === 'close') closeEmitted.add(this);
  return emit.call(this, event, ...args);
} as typeof emit;

/** Resolves when `s` has emitted 'close' (already, or later). */
function closed(s: { once(e: 'close', f: () => void): unknown }): Promise<void> {
  return closeEmitted.has(s) ? new Promise((r) => setImmediate(r)) : new Promise((r) => s.once('close', () => r()));
}

interface Pair {
  server: Server;
  client: Conn;
  serverConn: Conn;
  close(): Promise<void>;
}

async function pair(serverOptions: object = {}, clientOptions: object = {}): Promise<Pair> {
  const server = createServer(serverOptions);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const client = connect({ port, host: '127.0.0.1', ...clientOptions });
  const [[serverConn]] = await Promise.all([once(server, 'connection') as Promise<[Conn]>, once(client, 'connect')]);
  return {
    server,
    client,
    serverConn,
    async close() {
      client.destroy();
      serverConn.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

t.test('connects over shared memory and exposes the net.Socket surface', async (t) => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const client = connect(port, '127.0.0.1');
  t.equal(client.connecting, true);
  t.equal(client.pending, true);
  t.equal(client.readyState, 'opening');
  t.equal(client.transport, undefined);
  const events: string[] = [];
  client.on('connect', () => events.push('connect'));
  client.on('ready', () => events.push('ready'));
  const [[sc]] = await Promise.all([once(server, 'connection') as Promise<[Conn]>, once(client, 'ready')]);
  t.same(events, ['connect', 'ready']);
  t.ok(client instanceof Conn);
  t.equal(client.transport, 'shm');
  t.equal(sc.transport, 'shm');
  t.equal(client.connecting, false);
  t.equal(client.pending, false);
  t.equal(client.readyState, 'open');
  t.equal(client.remoteAddress, '127.0.0.1');
  t.equal(client.remotePort, port);
  t.equal(client.remoteFamily, 'IPv4');
  t.equal(sc.localPort, port);
  t.equal(client.address().port, client.localPort);
  t.equal(client.setNoDelay(true), client);
  t.equal(client.setKeepAlive(true, 1000), client);
  t.equal(client.ref(), client);
  t.equal(client.unref(), client);
  client.ref();
  t.same(shmEntries(OWN_NAMES), [], 'the name was unlinked right after ACK');
  client.write('hello');
  const [d] = await once(sc, 'data');
  t.equal(d.toString(), 'hello');
  t.equal(client.bytesWritten, 5);
  t.equal(sc.bytesRead, 5);
  client.destroy();
  sc.destroy();
  server.close();
  await once(server, 'close');
});

t.test('writes before connect are queued, cork batches through _writev', async (t) => {
  const server = createServer({ allowHalfOpen: true }, (c) => hashUntilEnd(c).then((r) => c.end(`${r.bytes}`)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const client = connect({ port, host: '127.0.0.1' });
  client.write('early ');
  client.cork();
  for (let i = 0; i < 100; i++) client.write('x');
  client.uncork();
  client.end('!');
  const [reply] = await once(client, 'data');
  t.equal(reply.toString(), String(6 + 100 + 1));
  server.close();
  client.destroy();
  await once(server, 'close');
});

t.test('write() returns false on a full ring and drain follows', async (t) => {
  const p = await pair({ ringSize: 4096 });
  p.serverConn.pause();
  let writes = 0;
  let ok = true;
  while (ok && writes < 10_000) {
    ok = p.client.write(Buffer.alloc(1024, writes & 0xff));
    writes++;
  }
  t.equal(ok, false, 'write() returned false');
  t.ok(p.client.writableLength > 0, 'bytes wait in the writable buffer');
  const drained = once(p.client, 'drain');
  let got = 0;
  p.serverConn.on('data', (d: Buffer) => (got += d.length));
  p.serverConn.resume();
  await drained;
  t.pass('drain followed once the reader resumed');
  while (got < writes * 1024) await new Promise((r) => setImmediate(r));
  t.equal(got, writes * 1024, 'every byte arrived');
  await p.close();
});

t.test('half-close: client ends first, server keeps writing (allowHalfOpen)', async (t) => {
  const p = await pair({ allowHalfOpen: true }, { allowHalfOpen: true });
  const serverGot = hashUntilEnd(p.serverConn);
  const sentUp = await sendRandom(p.client, 1 << 20, 65536, true);
  const up = await serverGot;
  t.equal(up.sha, sentUp, 'server saw everything then end');
  t.equal(p.serverConn.writable, true, 'server can still write after the peer ended');
  t.equal(p.client.readyState, 'readOnly');
  const clientGot = hashUntilEnd(p.client);
  const sentDown = await sendRandom(p.serverConn, 2 << 20, 65536, true);
  const down = await clientGot;
  t.equal(down.sha, sentDown, 'client received the late half');
  await Promise.all([closed(p.client), closed(p.serverConn)]);
  p.server.close();
  await once(p.server, 'close');
});

t.test('half-close: server ends first; without allowHalfOpen the client ends too', async (t) => {
  const p = await pair();
  p.serverConn.resume(); // as with net.Socket, 'end' (and so 'close') needs the readable side consumed
  const order: string[] = [];
  p.client.on('end', () => order.push('end'));
  p.client.on('finish', () => order.push('finish'));
  p.client.on('close', () => order.push('close'));
  const clientGot = hashUntilEnd(p.client);
  const sent = await sendRandom(p.serverConn, 3 << 20, 1 << 20, true);
  t.equal((await clientGot).sha, sent);
  await closed(p.client);
  t.equal(order.indexOf('end') < order.indexOf('close'), true, "'end' comes before 'close'");
  t.ok(order.includes('finish'), 'the client ended its side automatically');
  await closed(p.serverConn);
  p.server.close();
  await once(p.server, 'close');
});

t.test('destroy() mid-write: both sides close, nothing hangs', async (t) => {
  const p = await pair({ ringSize: 4096 });
  p.serverConn.pause();
  const big = Buffer.alloc(256 * 1024, 7);
  p.client.write(big);
  p.client.write(big);
  const clientClosed = closed(p.client);
  p.client.destroy();
  await clientClosed;
  t.equal(p.client.destroyed, true);
  let got = 0;
  p.serverConn.on('data', (d: Buffer) => (got += d.length));
  p.serverConn.resume();
  await once(p.serverConn, 'end');
  t.ok(got > 0 && got < 2 * big.length, `the reader got what was published (${got} bytes), then 'end'`);
  await closed(p.serverConn);
  t.equal(p.client.write('x', () => {}), false, 'writing to a destroyed Conn fails quietly, as net.Socket');
  p.server.close();
  await once(p.server, 'close');
});

t.test('destroy(err) emits error then close', async (t) => {
  const p = await pair();
  const err = new Error('boom');
  const order: string[] = [];
  p.client.on('error', (e) => order.push(`error:${e.message}`));
  p.client.on('close', () => order.push('close'));
  p.serverConn.resume();
  p.client.destroy(err);
  await closed(p.client);
  t.same(order, ['error:boom', 'close']);
  await closed(p.serverConn);
  p.server.close();
  await once(p.server, 'close');
});

t.test('setTimeout fires on an idle Conn and is re-armed by activity', async (t) => {
  const p = await pair();
  const t0 = Date.now();
  p.client.setTimeout(100);
  t.equal(p.client.timeout, 100);
  await once(p.client, 'timeout');
  const elapsed = Date.now() - t0;
  t.ok(elapsed >= 95, `timeout after ${elapsed} ms`);
  t.equal(p.client.destroyed, false, "'timeout' does not close the Conn");
  // Activity re-arms it: for twice the timeout the server sends a byte
  // 50 ms after each one the client got (gaps far below the timeout, even
  // on a loaded machine).
  let fired = 0;
  p.client.setTimeout(1000, () => fired++);
  const until = Date.now() + 2000;
  let echoes = 0;
  const flowed = new Promise<void>((resolve) =>
    p.client.on('data', () => {
      echoes++;
      if (Date.now() < until) setTimeout(() => p.serverConn.write('k'), 50);
      else resolve();
    }),
  );
  p.serverConn.write('k');
  await flowed;
  t.equal(fired, 0, `no timeout while bytes flow (${echoes} bytes over 2 s)`);
  await once(p.client, 'timeout');
  t.equal(fired, 1);
  p.client.setTimeout(0);
  t.equal(p.client.timeout, 0, 'as net.Socket: the last value set');
  t.throws(() => p.client.setTimeout(-1), { code: codes.INVALID_ARG });
  await p.close();
});

t.test("transport 'tcp' on either side gives the same API over the socket", async (t) => {
  for (const [so, co] of [[{ transport: 'tcp' }, {}], [{}, { transport: 'tcp' }]] as const) {
    const p = await pair(so, co);
    t.equal(p.client.transport, 'tcp');
    t.equal(p.serverConn.transport, 'tcp');
    const got = hashUntilEnd(p.serverConn);
    const sent = await sendRandom(p.client, 4 << 20);
    t.equal((await got).sha, sent);
    await p.close();
  }
});

t.test("transport 'shm' fails rather than fall back", async (t) => {
  const server = createServer({ transport: 'tcp' });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const c = connect({ port, host: '127.0.0.1', transport: 'shm' });
  const [err] = await once(c, 'error');
  t.equal(err.code, codes.UNSUPPORTED);
  server.close();
  await once(server, 'close');

  const strict = createServer({ transport: 'shm' });
  const failures: string[] = [];
  strict.on('handshakeError', (e) => failures.push(e.code));
  strict.listen(0, '127.0.0.1');
  await once(strict, 'listening');
  const port2 = (strict.address() as AddressInfo).port;
  // A client process that reports another host id.
  const child = forkFixture('conn-peer.ts', [JSON.stringify({ mode: 'sink', address: { port: port2, host: '127.0.0.1' } })], {
    SHMNET_HOST_ID: 'another-host:x',
  });
  const report = await nextMessage(child, (m) => m.event === 'error');
  t.equal(report.code, codes.UNSUPPORTED, 'a strict server refuses a client from another host');
  t.same(failures, [codes.UNSUPPORTED]);
  child.kill();
  await waitExit(child);
  strict.close();
  await once(strict, 'close');
});

t.test('connection errors and handshake timeouts are coded errors, never hangs', async (t) => {
  // Nobody listening.
  const probe = createNetServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const deadPort = (probe.address() as AddressInfo).port;
  probe.close();
  await once(probe, 'close');
  const c = connect({ port: deadPort, host: '127.0.0.1' });
  const [e1] = await once(c, 'error');
  t.equal(e1.code, 'ECONNREFUSED');
  await closed(c);

  // A server that accepts and never answers HELLO.
  const silent = createNetServer(() => {});
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const c2 = connect({ port: (silent.address() as AddressInfo).port, host: '127.0.0.1', handshakeTimeout: 200 });
  const [e2] = await once(c2, 'error');
  t.equal(e2.code, codes.HANDSHAKE_TIMEOUT);
  silent.close();

  // A client that connects and never sends HELLO.
  const server = createServer({ handshakeTimeout: 200 });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const raw = netConnect((server.address() as AddressInfo).port, '127.0.0.1');
  const [e3] = await once(server, 'handshakeError');
  t.equal(e3.code, codes.HANDSHAKE_TIMEOUT);
  await once(raw, 'close');
  t.same(server.stats().handshakeFailures, { [codes.HANDSHAKE_TIMEOUT]: 1 });

  // Garbage instead of HELLO.
  const raw2 = netConnect((server.address() as AddressInfo).port, '127.0.0.1');
  raw2.write(Buffer.from([0, 0, 0, 3, 0xc1, 0xc1, 0xc1]));
  const [e4] = await once(server, 'handshakeError');
  t.equal(e4.code, codes.HANDSHAKE);
  server.close();
  await once(server, 'close');
});

t.test('argument errors', async (t) => {
  t.throws(() => connect({} as never), { code: codes.INVALID_ARG });
  t.throws(() => connect(true as never), { code: codes.INVALID_ARG });
  t.throws(() => connect({ port: 1, ringSize: 1000 }), { code: codes.OUT_OF_RANGE });
  t.throws(() => connect({ port: 1, transport: 'udp' as never }), { code: codes.INVALID_ARG });
  t.throws(() => connect({ port: 1, spin: -1 }), { code: codes.OUT_OF_RANGE });
  t.throws(() => createServer({ ringSize: 3 << 20 }), { code: codes.OUT_OF_RANGE });
  t.throws(() => createServer({ ringSize: 1 << 22, maxRingSize: 1 << 20 }), { code: codes.OUT_OF_RANGE });
  t.throws(() => createServer({}, 5 as never), { code: codes.INVALID_ARG });
});

t.test('the server decides the ring size within its maximum', async (t) => {
  const p = await pair({ maxRingSize: 1 << 16 }, { ringSize: 1 << 20 });
  t.equal(p.client.stats().ringSize, 1 << 16, 'the client wish was capped');
  t.equal(p.serverConn.stats().ringSize, 1 << 16);
  await p.close();
  const q = await pair({ ringSize: 1 << 14 });
  t.equal(q.client.stats().ringSize, 1 << 14, 'the server default applies without a wish');
  await q.close();
});
