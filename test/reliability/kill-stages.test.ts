/**
 * A peer SIGKILLed at each stage of a connection's life — before HELLO,
 * after MAPINFO, after ACK, mid-transfer, during end — on either side.
 * Each time the survivor gets a coded error promptly (long before any
 * timeout could have produced it) and no name is left
 * in /dev/shm (where the server died holding one, after `sweepStale()`).
 *
 * The stages before ACK need a peer that stops half-way through the
 * handshake, which the real client and server never do: the raw fixture
 * (hostile-raw.ts) speaks the frames itself.
 */
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect, codes, sweepStale, type Conn, type Server } from '../../src/index.js';
import { forkFixture } from '../helpers/peer.js';
import { Prefork, shmNames, type Inbox } from '../fixtures/reliability-lib.js';

/**
 * Handshakes here wait up to HANDSHAKE_TIMEOUT_MS, so an error that came
 * within WITHIN_MS of the kill came from the kernel closing the dead
 * peer's socket, not from a timer. Both are generous: the point is the
 * cause, not the speed (a quiet machine takes a few ms).
 */
const HANDSHAKE_TIMEOUT_MS = 120_000;
const WITHIN_MS = 30_000;
t.teardown(() => {
  const left = shmNames(process.pid);
  if (left.length > 0) throw new Error(`names left in /dev/shm: ${left.join(', ')}`);
});

// Every case needs a fresh process to kill; fork them all now, in parallel.
const pool = new Prefork((name) => forkFixture(name), { 'hostile-raw.ts': 4, 'reliability-peer.ts': 7 });
t.teardown(() => pool.killAll());
t.before(() => pool.ready());

function fork(name: string, cfg: object): Promise<Inbox> {
  return pool.take(name, cfg);
}

/** Resolves with the first coded error `emitter` emits on `event`, and how long after `since` it came. */
function firstError(emitter: NodeJS.EventEmitter, event = 'error'): { at: Promise<{ err: any; when: number }> } {
  return { at: new Promise((resolve) => emitter.once(event, (err: any) => resolve({ err, when: performance.now() }))) };
}

async function kill(child: Inbox): Promise<number> {
  const at = performance.now();
  child.kill('SIGKILL');
  return at;
}

async function listen(opts: object = {}): Promise<{ server: Server; port: number }> {
  const server = createServer({ ringSize: 65536, handshakeTimeout: HANDSHAKE_TIMEOUT_MS, ...opts });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

async function stop(server: Server): Promise<void> {
  server.close();
  if (server.listening) await once(server, 'close');
}

/**
 * Kills `child`, then waits for the error `e` armed beforehand: its code
 * must be one of `expected`, and it must come within WITHIN_MS of the kill.
 */
async function killExpecting(t: Test, child: Inbox, e: ReturnType<typeof firstError>, expected: string[], what: string, msg?: string): Promise<void> {
  const killedAt = await kill(child);
  const { err, when } = await e.at;
  t.ok(expected.includes(err.code), msg ?? `${what}: ${String(err.code)}`);
  const ms = when - killedAt;
  t.ok(ms < WITHIN_MS, `${what} ${ms.toFixed(1)} ms after the kill, not at a timeout`);
}

// ---- the client dies; the server survives -------------------------------------

t.test('client killed before HELLO: the handshake fails with PEER_GONE, nothing was created', async (t) => {
  const { server, port } = await listen();
  const child = await fork('hostile-raw.ts', { role: 'client', stage: 'before-hello', address: { port, host: '127.0.0.1' } });
  await child.event('stage');
  const e = firstError(server, 'handshakeError');
  await killExpecting(t, child, e, [codes.PEER_GONE], 'the server handshake failed');
  t.same(shmNames(process.pid), []);
  await child.exited();
  await stop(server);
});

t.test('client killed after MAPINFO (mapped, no ACK): the server unlinks the name', async (t) => {
  const { server, port } = await listen();
  const child = await fork('hostile-raw.ts', { role: 'client', stage: 'after-mapinfo', address: { port, host: '127.0.0.1' } });
  const { name } = await child.event('stage');
  t.ok(existsSync(`/dev/shm${name}`), `the name exists while the server waits for ACK (${name})`);
  const e = firstError(server, 'handshakeError');
  await killExpecting(t, child, e, [codes.PEER_GONE], 'the server handshake failed');
  t.notOk(existsSync(`/dev/shm${name}`), 'the name is gone');
  t.equal(server.stats().handshakesInProgress, 0);
  await child.exited();
  await stop(server);
});

/** A real client process with a behaviour; resolves with the server's Conn. */
async function clientWith(t: Test, behaviour: string, serverOpts: object = {}) {
  const { server, port } = await listen(serverOpts);
  const child = await fork('reliability-peer.ts', { role: 'client', behaviour, address: { port, host: '127.0.0.1' } });
  const [conn] = (await once(server, 'connection')) as [Conn];
  t.equal(conn.transport, 'shm');
  t.same(shmNames(process.pid), [], 'no name once ACKed');
  return { server, child, conn };
}

t.test('client killed after ACK (idle connection)', async (t) => {
  const { server, child, conn } = await clientWith(t, 'hold');
  await child.event('connect');
  const e = firstError(conn);
  await killExpecting(t, child, e, [codes.PEER_GONE], "the server Conn's error");
  await child.exited();
  await stop(server);
});

t.test('client killed mid-transfer', async (t) => {
  const { server, child, conn } = await clientWith(t, 'source');
  let got = 0;
  conn.on('data', (d: Buffer) => (got += d.length));
  while (got < 4 << 20) await new Promise((r) => setTimeout(r, 2));
  const e = firstError(conn);
  await killExpecting(t, child, e, [codes.PEER_GONE], "the server Conn's error");
  await child.exited();
  await stop(server);
});

t.test('client killed during end (FIN queued behind a full ring)', async (t) => {
  const { server, child, conn } = await clientWith(t, 'end-pending');
  conn.pause();
  const { pending } = await child.event('stage');
  t.ok(pending > 0, `the client has ${pending} bytes queued behind the full ring, FIN after them`);
  const e = firstError(conn);
  await killExpecting(t, child, e, [codes.PEER_GONE], "the server Conn's error", 'no FIN was published: the peer died');
  await child.exited();
  await stop(server);
});

t.test('client killed during end (FIN published, the server still writing)', async (t) => {
  const { server, child, conn } = await clientWith(t, 'end-then-read', { allowHalfOpen: true });
  // Armed at once: as a net.Socket, a Conn reads from the start, so the
  // peer's end may be seen before anyone calls resume().
  const ended = once(conn, 'end');
  await child.event('stage');
  conn.resume();
  await ended;
  const chunk = Buffer.alloc(16384, 3);
  const iv = setInterval(() => {
    while (conn.writable && conn.write(chunk));
  }, 1);
  while (conn.bytesWritten === 0) await new Promise((r) => setTimeout(r, 2));
  const e = firstError(conn);
  await killExpecting(t, child, e, [codes.SOCKET_CLOSED, codes.PEER_GONE], "the server Conn's error", 'the writer gets SOCKET_CLOSED or PEER_GONE');
  clearInterval(iv);
  await child.exited();
  await stop(server);
});

// ---- the server dies; the client survives --------------------------------------

function sockPath(tag: string): string {
  return join(tmpdir(), `shmnet-test-${process.pid}-${tag}.sock`);
}

async function expectSwept(t: Test, pid: number, expectLeft: string[]): Promise<void> {
  const left = shmNames(pid);
  t.same(left.sort(), expectLeft.sort(), expectLeft.length ? 'the dead server left its name behind' : 'the dead server left no name');
  const removed = sweepStale();
  for (const n of expectLeft) t.ok(removed.includes(`/${n}`), `sweepStale() removed ${n}`);
  t.same(shmNames(pid), [], 'nothing left after the sweep');
}

t.test('server killed before answering HELLO: connect() fails with PEER_GONE', async (t) => {
  const path = sockPath('s-hello');
  const child = await fork('hostile-raw.ts', { role: 'server', stage: 'before-hello', address: path });
  await child.event('listening');
  const conn = connect({ path, handshakeTimeout: HANDSHAKE_TIMEOUT_MS });
  const e = firstError(conn);
  await child.event('stage');
  await killExpecting(t, child, e, [codes.PEER_GONE], 'the client error');
  await child.exited();
  await expectSwept(t, child.pid, []);
});

t.test('server killed after MAPINFO, holding the name: PEER_GONE, and the sweep removes the name', async (t) => {
  const path = sockPath('s-mapinfo');
  const child = await fork('hostile-raw.ts', { role: 'server', stage: 'after-mapinfo', address: path });
  await child.event('listening');
  const conn = connect({ path, handshakeTimeout: HANDSHAKE_TIMEOUT_MS });
  const e = firstError(conn);
  const [{ name }] = await Promise.all([child.event('stage'), once(conn, 'connect')]);
  t.equal(conn.transport, 'shm', 'the client mapped the region and ACKed');
  await killExpecting(t, child, e, [codes.PEER_GONE], 'the client error');
  await child.exited();
  await expectSwept(t, child.pid, [name.slice(1)]);
});

async function serverWith(t: Test, behaviour: string, tag: string) {
  const path = sockPath(tag);
  const child = await fork('reliability-peer.ts', { role: 'server', behaviour, address: path, options: { ringSize: 65536 } });
  await child.event('listening');
  const conn = connect({ path, handshakeTimeout: HANDSHAKE_TIMEOUT_MS });
  // The server has processed ACK (and unlinked) once it reports the connection.
  await Promise.all([once(conn, 'connect'), child.event('connection')]);
  t.equal(conn.transport, 'shm');
  return { child, conn };
}

t.test('server killed after ACK (idle connection)', async (t) => {
  const { child, conn } = await serverWith(t, 'hold', 's-ack');
  const e = firstError(conn);
  await killExpecting(t, child, e, [codes.PEER_GONE], 'the client error');
  await child.exited();
  await expectSwept(t, child.pid, []);
});

t.test('server killed mid-transfer', async (t) => {
  const { child, conn } = await serverWith(t, 'source', 's-mid');
  let got = 0;
  conn.on('data', (d: Buffer) => (got += d.length));
  while (got < 4 << 20) await new Promise((r) => setTimeout(r, 2));
  const e = firstError(conn);
  await killExpecting(t, child, e, [codes.PEER_GONE], 'the client error');
  await child.exited();
  await expectSwept(t, child.pid, []);
});

t.test('server killed during end (FIN queued behind a full ring)', async (t) => {
  const { child, conn } = await serverWith(t, 'end-pending', 's-end');
  conn.pause();
  await child.event('stage');
  const e = firstError(conn);
  await killExpecting(t, child, e, [codes.PEER_GONE], 'the client error');
  await child.exited();
  await expectSwept(t, child.pid, []);
});
