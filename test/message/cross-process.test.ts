/**
 * MessageConn between two processes over a shm Conn: a forked peer
 * (test/fixtures/message-peer.ts) echoes 64-byte objects, which must come
 * back intact and in order; a peer that sends a frame over our
 * maxMessageSize, or a malformed frame, gets its connection closed with a
 * coded error on our side and survives (it connects again afterwards).
 *
 * MESSAGE_COUNT is 1,000,000 by default; SHMNET_MESSAGE_COUNT overrides it.
 */
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { createServer, type Conn, type Server } from '../../src/index.js';
import { MessageConn } from '../../src/message/index.js';
import { forkFixture, nextMessage, shmEntries, waitExit } from '../helpers/peer.js';

const MESSAGE_COUNT = Number(process.env.SHMNET_MESSAGE_COUNT ?? 1_000_000);

interface Item {
  id: number;
  op: string;
  key: string;
  ok: boolean;
  score: number;
  tags: string[];
}

/** About 64 bytes of MessagePack, fields derived from the id so each one can be checked. */
function item(id: number): Item {
  return { id, op: id % 3 === 0 ? 'put' : 'get', key: `user:${id.toString(16).padStart(7, '0')}`, ok: (id & 1) === 0, score: id / 8, tags: ['a', 'b'] };
}

function intact(v: Item, id: number): boolean {
  return (
    v.id === id &&
    v.op === (id % 3 === 0 ? 'put' : 'get') &&
    v.key === `user:${id.toString(16).padStart(7, '0')}` &&
    v.ok === ((id & 1) === 0) &&
    v.score === id / 8 &&
    v.tags.length === 2 &&
    v.tags[0] === 'a' &&
    v.tags[1] === 'b'
  );
}

async function serve(t: Test): Promise<{ server: Server; port: number }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { server, port: (server.address() as { port: number }).port };
}

/** Answers { ping: n } with { pong: n + 1 } (the peer's "again" check). */
function answerPings(conn: Conn): void {
  const mc = new MessageConn(conn);
  mc.on('message', (v: { ping?: number }) => mc.send({ pong: (v.ping ?? 0) + 1 }));
  mc.on('end', () => mc.end());
  mc.on('error', () => {});
}

t.test(`${MESSAGE_COUNT} 64-byte objects round-trip intact through a peer process`, async (t) => {
  const { server, port } = await serve(t);
  const child = forkFixture('message-peer.ts', [JSON.stringify({ port, mode: 'echo' })]);
  const [conn] = (await once(server, 'connection')) as [Conn];
  t.equal(conn.transport, 'shm');
  const mc = new MessageConn(conn);

  let next = 0;
  let bad = 0;
  const done = new Promise<void>((resolve, reject) => {
    mc.on('message', (v: Item) => {
      if (!intact(v, next)) bad++;
      next++;
    });
    mc.on('end', resolve);
    mc.on('error', reject);
  });
  let i = 0;
  const pump = () => {
    while (i < MESSAGE_COUNT) {
      if (!mc.send(item(i++))) {
        mc.once('drain', pump);
        return;
      }
    }
    mc.end();
  };
  pump();
  await done;
  t.equal(next, MESSAGE_COUNT, 'every message came back');
  t.equal(bad, 0, 'each one intact and in order');
  t.equal(mc.messagesSent, MESSAGE_COUNT);
  t.equal(mc.messagesReceived, MESSAGE_COUNT);
  const report = await nextMessage(child, (m) => m?.event === 'done');
  t.equal(report.received, MESSAGE_COUNT, 'the peer saw every message');
  t.same(report.errors, []);
  child.disconnect();
  await waitExit(child);
  t.same(shmEntries(`shmnet.${process.pid.toString(36)}.`), [], 'no shm names left');
});

for (const [mode, code, what] of [
  ['oversize', 'SHMNET_ERR_MESSAGE_TOO_LARGE', 'a frame over maxMessageSize'],
  ['garbage', 'SHMNET_ERR_MESSAGE_MALFORMED', 'a frame that is not MessagePack'],
] as const) {
  t.test(`${what} from the peer: coded error here, the peer lives on`, async (t) => {
    const { server, port } = await serve(t);
    const child = forkFixture('message-peer.ts', [JSON.stringify({ port, mode, bytes: 2 * 1024 * 1024 })]);
    const [conn] = (await once(server, 'connection')) as [Conn];
    const mc = new MessageConn(conn, { maxMessageSize: 1024 * 1024 });
    const messages: unknown[] = [];
    mc.on('message', (v) => messages.push(v));
    const closed = new Promise((resolve) => mc.once('close', resolve));
    const [err] = (await once(mc, 'error')) as [Error & { code?: string }];
    t.equal(err.code, code, `error code ${code}`);
    await closed;
    t.ok(conn.destroyed, 'the connection was destroyed');
    t.same(messages, [], 'nothing was delivered');

    // The peer saw its connection close, without crashing, and can connect again.
    const report = await nextMessage(child, (m) => m?.event === 'done');
    t.equal(report.mode, mode);
    server.once('connection', answerPings);
    child.send('again');
    const again = await nextMessage(child, (m) => m?.event === 'again');
    t.equal(again.ok, true, 'the peer made a second, working connection');
    t.equal(await waitExit(child), 0, 'the peer exited normally');
  });
}
