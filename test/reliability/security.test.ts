/**
 * Peers are untrusted: what keeps another user out of a live segment, what
 * the server does with a client that says it is another user, and the
 * limits that stop a client from making the server allocate without bound.
 */
import t from 'tap';
import { once } from 'node:events';
import { statSync } from 'node:fs';
import { createServer, connect, codes, type Conn } from '../../src/index.js';
import { parseServerReply, type MapInfoMessage } from '../../src/handshake/index.js';
import { otherUser, stageForOtherUser } from '../helpers/other-user.js';
import { hello, RawPeer, shmNames, waitFor } from '../fixtures/reliability-lib.js';

t.teardown(() => {
  const left = shmNames(process.pid);
  if (left.length > 0) throw new Error(`names left in /dev/shm: ${left.join(', ')}`);
});

const euid = process.geteuid?.() ?? -1;

async function listen(opts: object = {}) {
  const errors: any[] = [];
  const conns: Conn[] = [];
  const server = createServer({ ringSize: 4096, ...opts }, (c) => {
    conns.push(c);
    c.on('error', () => {});
    c.pipe(c);
  });
  server.on('handshakeError', (e) => errors.push(e));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, errors, conns };
}

const other = otherUser();

t.test('a live segment is mode 0600, owned by the server, and another user cannot open it', { skip: typeof other === 'string' ? other : false }, async (t) => {
  const who = other as { uid: number; gid: number };
  const staged = stageForOtherUser(['reliability-open.ts']);
  t.teardown(() => staged.remove());
  const { server, port } = await listen();
  // Whatever fails below, the server goes (its half-done handshake with it: close() unlinks the name).
  t.teardown(() => void server.close());
  // A raw client that got MAPINFO and does not ACK: the name stays until the timeout.
  const peer = await RawPeer.connect({ port, host: '127.0.0.1' });
  t.teardown(() => peer.destroy());
  peer.send(hello({ ringSize: 4096 }));
  const info = parseServerReply(await peer.nextFrame()) as MapInfoMessage;
  const st = statSync(`/dev/shm${info.name}`);
  t.equal(st.mode & 0o777, 0o600, 'mode 0600');
  t.equal(st.uid, euid, 'owned by the server');
  t.ok(info.name.length <= 30, `name ${info.name} fits macOS's 31-character limit`);
  const { code, stdout, stderr } = await staged.run('reliability-open.ts', [info.name], who);
  t.equal(code, 0, 'the child ran');
  t.equal(stderr.trim(), '', 'without complaint');
  const line = stdout.trim().split('\n').pop() ?? '';
  const r = line.startsWith('{') ? JSON.parse(line) : { unparsed: line };
  t.equal(r.uid, who.uid, `the child ran as uid ${who.uid}`);
  t.equal(r.ok, false, 'it could not open the segment');
  t.equal(r.code, codes.PERMISSION);
  t.equal(r.sysCode, 'EACCES');
  peer.destroy();
  t.ok(await waitFor(() => shmNames(process.pid).length === 0, 30_000), 'the server unlinked it when the client left');
});

t.test('a client that says it runs as another user gets the socket, or PERMISSION under shm', async (t) => {
  const { server, port, errors, conns } = await listen();
  const peer = await RawPeer.connect({ port, host: '127.0.0.1' });
  peer.send(hello({ uid: euid + 1 }));
  const reply = parseServerReply(await peer.nextFrame());
  t.equal(reply.type, 'fallback');
  t.match((reply as { reason: string }).reason, /uid/);
  t.same(shmNames(process.pid), [], 'no segment was made for it');
  t.ok(await waitFor(() => conns.length > 0, 30_000), 'the server made a Conn of it');
  t.equal(conns[0]!.transport, 'tcp');
  peer.destroy();

  const strict = await RawPeer.connect({ port, host: '127.0.0.1' });
  strict.send(hello({ uid: euid + 1, transport: 'shm' }));
  const r2 = parseServerReply(await strict.nextFrame());
  t.equal(r2.type, 'reject');
  t.equal((r2 as { code: string }).code, codes.PERMISSION);
  t.ok(await waitFor(() => errors.length > 0, 30_000), 'the server reported the refusal');
  t.equal(errors[0].code, codes.PERMISSION);
  await strict.closedP;
  server.close();
});

t.test('maxConnections bounds what clients can make the server hold', async (t) => {
  const { server, port, conns } = await listen({ maxConnections: 2 });
  t.equal(server.maxConnections, 2);
  t.throws(() => createServer({ maxConnections: -1 }), { code: codes.INVALID_ARG });
  const a = connect({ port, host: '127.0.0.1' });
  const b = connect({ port, host: '127.0.0.1' });
  await Promise.all([once(a, 'connect'), once(b, 'connect')]);
  const dropped = once(server, 'drop');
  const c = connect({ port, host: '127.0.0.1' });
  const [err] = await once(c, 'error');
  t.equal(err.code, codes.PEER_GONE, 'the third client is turned away with a coded error');
  await dropped;
  t.equal(conns.length, 2);
  a.write('still');
  const [d] = await once(a, 'data');
  t.equal(d.toString(), 'still', 'the admitted connections keep working');
  a.destroy();
  b.destroy();
  server.close();
});

t.test('an oversized frame is refused from its length prefix, before its bytes arrive', async (t) => {
  const { server, port, errors } = await listen();
  const rss0 = process.memoryUsage().rss;
  const peer = await RawPeer.connect({ port, host: '127.0.0.1' });
  peer.socket.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
  await peer.closedP;
  t.equal(errors[0]?.code, codes.HANDSHAKE);
  t.match(errors[0]?.message, /exceeds the limit/);
  t.ok(process.memoryUsage().rss - rss0 < 64 << 20, 'nothing like 2 GiB was allocated');
  // A ring size over the server's maximum is capped, not honoured.
  const small = await listen({ maxRingSize: 1 << 16 });
  const wish = await RawPeer.connect({ port: small.port, host: '127.0.0.1' });
  wish.send(hello({ ringSize: 1 << 30 }));
  const info = parseServerReply(await wish.nextFrame()) as MapInfoMessage;
  t.equal(info.ringSize, 1 << 16, 'a 1 GiB wish gets the 64 KiB maximum');
  wish.destroy();
  await wish.closedP;
  small.server.close();
  server.close();
});
