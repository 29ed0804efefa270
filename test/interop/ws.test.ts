/**
 * ws over shmnet: the client's `createConnection` dials a shmnet Conn; the
 * server (another process) upgrades through an http server fed with
 * 'connection' and `wss.handleUpgrade`. A 32 MiB binary message echoed
 * with SHA-256 equality, and 1,000 small text messages echoed in order.
 */
import t from 'tap';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { LARGE, SMALL_REQUESTS, largePayload, sha256, startServer } from '../fixtures/interop-util.js';

t.test('ws client and server over shmnet', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t, 'ws');
  const ws = new WebSocket('ws://shmnet/echo', { createConnection: () => server.dial() as never, maxPayload: 64 * 1024 * 1024 });
  await once(ws, 'open');
  const incoming: Array<{ data: Buffer; binary: boolean }> = [];
  let waiter: (() => void) | null = null;
  ws.on('message', (data: Buffer, binary: boolean) => {
    incoming.push({ data, binary });
    waiter?.();
  });
  const next = async () => {
    while (incoming.length === 0) await new Promise<void>((r) => (waiter = r));
    waiter = null;
    return incoming.shift()!;
  };

  await t.test(`${LARGE}-byte binary message, echoed`, async (t) => {
    const { data, sha } = largePayload();
    ws.send(data);
    const echo = await next();
    t.equal(echo.binary, true);
    t.equal(echo.data.length, LARGE, 'every byte came back');
    t.equal(sha256(echo.data), sha, 'SHA-256 of the echo equals what was sent');
  });

  await t.test(`${SMALL_REQUESTS} small text messages, echoed in order`, async (t) => {
    for (let i = 0; i < SMALL_REQUESTS; i++) ws.send(JSON.stringify({ i, text: `message ${i}` }));
    let bad = 0;
    for (let i = 0; i < SMALL_REQUESTS; i++) {
      const m = await next();
      const json = JSON.parse(m.data.toString());
      if (m.binary || json.i !== i || json.text !== `message ${i}`) bad++;
    }
    t.equal(bad, 0, 'every echo matches, in order');
  });

  ws.close(1000, 'done');
  const [code] = await once(ws, 'close');
  t.equal(code, 1000, 'closing handshake completed');
  await server.stop();
  t.same(server.transports, ['shm']);
});
