/**
 * Every way a handshake can fail after the server created the segment —
 * timeout, malformed frame, out-of-order frame, NACK, REJECT, wrong token,
 * the client leaving — ends with the name unlinked and a coded error; and
 * the client side refuses a MAPINFO that names something a shmnet server
 * would never create.
 */
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { createServer, connect, codes, type Conn, type Server } from '../../src/index.js';
import { encodeMessage, parseServerReply, PROTOCOL_VERSION, type MapInfoMessage } from '../../src/handshake/index.js';
import { hello, RawPeer, shmNames } from '../fixtures/reliability-lib.js';

t.teardown(() => {
  const left = shmNames(process.pid);
  if (left.length > 0) throw new Error(`names left in /dev/shm: ${left.join(', ')}`);
});

async function listen(opts: object): Promise<{ server: Server; port: number; errors: any[]; conns: Conn[] }> {
  const errors: any[] = [];
  const conns: Conn[] = [];
  // A timeout far beyond any case: only the case that waits for it sets a short one.
  const server = createServer({ ringSize: 4096, handshakeTimeout: 60_000, ...opts }, (c) => {
    conns.push(c);
    c.on('error', () => {});
    c.resume();
  });
  server.on('handshakeError', (e) => errors.push(e));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, errors, conns };
}

/** A raw client that sent HELLO and holds the MAPINFO (the name exists now). */
async function toMapinfo(t: Test, port: number): Promise<{ peer: RawPeer; info: MapInfoMessage }> {
  const peer = await RawPeer.connect({ port, host: '127.0.0.1' });
  peer.send(hello({ ringSize: 4096 }));
  const info = parseServerReply(await peer.nextFrame()) as MapInfoMessage;
  t.equal(info.type, 'mapinfo');
  t.ok(existsSync(`/dev/shm${info.name}`), 'the name exists while the server waits for the reply');
  return { peer, info };
}

async function nextError(errors: any[], n: number): Promise<any> {
  while (errors.length < n) await new Promise((r) => setTimeout(r, 2));
  return errors[n - 1];
}

t.test('server side: silence after MAPINFO ends at the handshake timeout, and the name goes', async (t) => {
  const { server, port, errors } = await listen({ handshakeTimeout: 300 });
  const { peer, info } = await toMapinfo(t, port);
  t.equal((await nextError(errors, 1)).code, codes.HANDSHAKE_TIMEOUT);
  t.notOk(existsSync(`/dev/shm${info.name}`), 'the name is gone');
  await peer.closedP;
  server.close();
});

t.test('server side: close() while a client holds MAPINFO unlinks the name at once', async (t) => {
  const { server, port, errors } = await listen({});
  const { peer, info } = await toMapinfo(t, port);
  const closed = once(server, 'close');
  server.close();
  // SERVER_NOT_RUNNING, not HANDSHAKE_TIMEOUT: the 60 s timeout had nothing to do with it.
  t.equal((await nextError(errors, 1)).code, codes.SERVER_NOT_RUNNING, 'the handshake failed with SERVER_NOT_RUNNING');
  t.notOk(existsSync(`/dev/shm${info.name}`), 'the name is gone while the process lives on');
  await peer.closedP;
  t.pass('the half-done client was disconnected');
  await closed;
});

t.test('server side: every failure after MAPINFO unlinks the name', async (t) => {
  const { server, port, errors, conns } = await listen({});
  const cases: Array<[string, (peer: RawPeer, info: MapInfoMessage) => void, string]> = [
    ['a malformed frame', (p) => p.socket.write(Buffer.from([0, 0, 0, 2, 0xc1, 0xc1])), codes.HANDSHAKE],
    ['an oversized frame', (p) => p.socket.write(Buffer.from([0x40, 0, 0, 0])), codes.HANDSHAKE],
    ['a second HELLO (out of order)', (p) => p.send(hello()), codes.HANDSHAKE],
    ['a client REJECT', (p) => p.send({ type: 'reject', version: PROTOCOL_VERSION, code: codes.NO_SPACE, message: 'no' }), codes.NO_SPACE],
    ['an ACK with the wrong token', (p) => p.send({ type: 'ack', version: PROTOCOL_VERSION, token: new Uint8Array(16) }), codes.HANDSHAKE],
    ['the client closing its socket', (p) => p.socket.end(), codes.PEER_GONE],
    ['the client resetting its socket', (p) => p.socket.resetAndDestroy(), codes.PEER_GONE],
  ];
  let n = 0;
  for (const [what, act, code] of cases) {
    const { peer, info } = await toMapinfo(t, port);
    act(peer, info);
    const err = await nextError(errors, ++n);
    t.equal(err.code, code, `${what}: ${code}`);
    t.notOk(existsSync(`/dev/shm${info.name}`), `${what}: the name is gone`);
    await peer.closedP;
  }
  // NACK under 'auto' falls back to the socket; the name goes too.
  const { peer, info } = await toMapinfo(t, port);
  peer.send({ type: 'nack', version: PROTOCOL_VERSION, reason: 'cannot map' });
  const reply = parseServerReply(await peer.nextFrame());
  t.equal(reply.type, 'fallback', 'NACK under auto: FALLBACK');
  t.notOk(existsSync(`/dev/shm${info.name}`), 'NACK: the name is gone');
  while (conns.length === 0) await new Promise((r) => setTimeout(r, 2));
  t.equal(conns[0]!.transport, 'tcp');
  peer.destroy();
  // And the good path: ACK with the right token.
  const ok = await toMapinfo(t, port);
  ok.peer.send({ type: 'ack', version: PROTOCOL_VERSION, token: ok.info.token });
  while (conns.length === 1) await new Promise((r) => setTimeout(r, 2));
  t.equal(conns[1]!.transport, 'shm');
  t.notOk(existsSync(`/dev/shm${ok.info.name}`), 'ACK: the name is gone');
  ok.peer.destroy();
  t.same(server.stats().handshakeFailures, Object.fromEntries(cases.reduce((m, [, , c]) => m.set(c, (m.get(c) ?? 0) + 1), new Map<string, number>())));
  server.close();
});

t.test("server side: NACK under transport 'shm' is a REJECT, and the name goes", async (t) => {
  const { server, port, errors } = await listen({ transport: 'shm' });
  const { peer, info } = await toMapinfo(t, port);
  peer.send({ type: 'nack', version: PROTOCOL_VERSION, reason: 'cannot map' });
  const reply = parseServerReply(await peer.nextFrame());
  t.equal(reply.type, 'reject');
  t.equal((reply as { code: string }).code, codes.UNSUPPORTED);
  t.equal((await nextError(errors, 1)).code, codes.UNSUPPORTED);
  t.notOk(existsSync(`/dev/shm${info.name}`));
  await peer.closedP;
  server.close();
});

t.test('client side: a MAPINFO naming anything but a segment of that server is refused', async (t) => {
  // A hostile server points the client at another program's object.
  const victimName = `/shmnet-test-${process.pid}-not-a-segment`;
  const fake = createNetServer((s) => {
    s.on('error', () => {});
    s.once('data', () =>
      s.write(
        encodeMessage({
          type: 'mapinfo',
          version: PROTOCOL_VERSION,
          name: victimName,
          size: 4096 + 2 * (512 + 4096),
          ringSize: 4096,
          token: new Uint8Array(16),
          serverPid: process.pid,
        }),
      ),
    );
  });
  fake.listen(0, '127.0.0.1');
  await once(fake, 'listening');
  const port = (fake.address() as { port: number }).port;
  // 'shm': the client REJECTs and fails with HANDSHAKE.
  const strict = connect({ port, host: '127.0.0.1', transport: 'shm', handshakeTimeout: 2000 });
  const [err] = await once(strict, 'error');
  t.equal(err.code, codes.HANDSHAKE);
  t.match(err.message, /not a segment of server pid/);
  // 'auto': the client NACKs and waits for FALLBACK (which never comes here).
  const lax = connect({ port, host: '127.0.0.1', handshakeTimeout: 2000 });
  const got: Buffer[] = [];
  fake.once('connection', (s) => s.on('data', (d: Buffer) => got.push(d)));
  const [err2] = await once(lax, 'error');
  t.equal(err2.code, codes.HANDSHAKE_TIMEOUT);
  t.match(Buffer.concat(got).toString('latin1'), /nack/, 'the client answered NACK');
  fake.close();
});
