/**
 * The named-pipe handshake: createServer().listen('\\.\pipe\…') and
 * connect(path) agree on shared memory; a raw client stepping through the
 * exchange shows that the mapping's name exists from MAPINFO until the
 * server has read ACK, and never after (nor after a client that leaves or
 * stays silent); and the client refuses a name a shmnet server would not
 * create.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import { codes, connect, createServer, openShm } from '../../dist/src/index.js';
import { encodeMessage, FrameReader, hostId, parseServerReply, PROTOCOL_VERSION } from '../../dist/src/handshake/index.js';
import { nextError, pipeName, SEGMENT, test, within } from './harness.mjs';

async function listen(opts = {}) {
  const path = pipeName('hs');
  const conns = [];
  const errors = [];
  const server = createServer({ ringSize: 65536, handshakeTimeout: 2000, ...opts }, (c) => {
    conns.push(c);
    c.on('error', () => {});
    c.resume();
  });
  server.on('handshakeError', (e) => errors.push(e));
  server.listen(path);
  await within(30_000, "'listening'", once(server, 'listening'));
  return { server, path, conns, errors };
}

/** Resolves once `list` holds `n` items (checked on each event-loop turn). */
async function until(list, n, what) {
  await within(60_000, what, (async () => {
    while (list.length < n) await new Promise((r) => setTimeout(r, 5));
  })());
}

/** A control socket that speaks the handshake frames itself. */
async function rawClient(path) {
  const socket = netConnect(path);
  socket.on('error', () => {});
  await within(30_000, 'the raw client to connect', once(socket, 'connect'));
  const reader = new FrameReader({ maxFrameSize: 1 << 20 });
  const frames = [];
  socket.on('data', (d) => {
    reader.push(d);
    for (let f = reader.next(); f !== undefined; f = reader.next()) frames.push(f);
  });
  const closed = new Promise((r) => socket.once('close', r));
  return {
    socket,
    closed,
    send: (m) => socket.write(encodeMessage(m)),
    next: async () => {
      await until(frames, 1, 'a frame from the server');
      return parseServerReply(frames.shift());
    },
  };
}

const hello = {
  type: 'hello',
  version: PROTOCOL_VERSION,
  hostId: hostId(),
  pid: process.pid,
  uid: -1,
  ringSize: 0,
  transport: 'auto',
};

test('createServer().listen(pipe) and connect(pipe) agree on shared memory', async () => {
  const { server, path, conns } = await listen();
  assert.equal(server.address(), path);
  const conn = connect(path);
  await within(30_000, "the client's 'connect'", once(conn, 'connect'));
  await until(conns, 1, "the server's 'connection'");
  assert.equal(conn.transport, 'shm');
  assert.equal(conns[0].transport, 'shm');
  assert.equal(conn.stats().segment, SEGMENT, 'Windows has no descriptor passing: a named mapping');
  assert.ok(conn.handshakeMs > 0);
  conn.resume();
  conn.end('bye');
  await within(30_000, "the client's 'close'", once(conn, 'close'));
  server.close();
});

test('the name exists from MAPINFO to ACK and is gone once the server has the ACK', async () => {
  const { server, path, conns } = await listen();
  const raw = await rawClient(path);
  raw.send(hello);
  const info = await raw.next();
  assert.equal(info.type, 'mapinfo');
  assert.equal(info.fd, false);
  const region = openShm(info.name, { size: info.size });
  raw.send({ type: 'ack', version: PROTOCOL_VERSION, token: info.token });
  await until(conns, 1, "the server's 'connection' after ACK");
  assert.throws(() => openShm(info.name), { code: codes.NOT_FOUND }, 'no name once the connection is up');
  assert.equal(conns[0].transport, 'shm');
  raw.socket.destroy();
  region.close();
  server.close();
});

test('a client that goes silent or leaves after MAPINFO leaves no name behind', async () => {
  const { server, path, errors } = await listen({ handshakeTimeout: 1500 });
  const cases = [
    ['silence until the handshake timeout', () => {}, codes.HANDSHAKE_TIMEOUT],
    ['the client closing its end', (raw) => raw.socket.end(), codes.PEER_GONE],
    ['an ACK with the wrong token', (raw) => raw.send({ type: 'ack', version: PROTOCOL_VERSION, token: new Uint8Array(16) }), codes.HANDSHAKE],
  ];
  let n = 0;
  for (const [what, act, code] of cases) {
    const raw = await rawClient(path);
    raw.send(hello);
    const info = await raw.next();
    openShm(info.name, { size: info.size }).close(); // it exists now
    act(raw);
    await until(errors, ++n, `the server's handshakeError (${what})`);
    assert.equal(errors[n - 1].code, code, what);
    assert.throws(() => openShm(info.name), { code: codes.NOT_FOUND }, `${what}: the name is gone`);
    raw.socket.destroy();
    await raw.closed;
  }
  server.close();
});

test('the client refuses a MAPINFO that names another program\'s mapping', async () => {
  const path = pipeName('evil');
  const { createServer: createNetServer } = await import('node:net');
  const evil = createNetServer((s) => {
    s.on('error', () => {});
    s.once('data', () => {
      s.write(
        encodeMessage({
          type: 'mapinfo', version: PROTOCOL_VERSION, name: '/someone-elses-mapping', size: 2 * 65536 + 65536,
          ringSize: 65536, token: new Uint8Array(16), serverPid: process.pid, fd: false,
        }),
      );
    });
  });
  evil.listen(path);
  await once(evil, 'listening');
  const conn = connect({ path, transport: 'shm' });
  const err = await within(30_000, "the client's 'error'", nextError(conn));
  assert.equal(err.code, codes.HANDSHAKE);
  evil.close();
});
