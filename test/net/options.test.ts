import t from 'tap';
import { codes, connect, createServer } from '../../src/index.js';
import { REFUSED_CONNECT_KEYS, splitConnectOptions } from '../../src/net/options.js';

t.test('a node:net option shmnet does not honour is refused with a code, not passed on', async (t) => {
  for (const key of REFUSED_CONNECT_KEYS) {
    t.throws(() => connect({ path: '/nonexistent', [key]: {} } as never), { code: codes.UNSUPPORTED }, key);
  }
});

t.test('only dialling options reach the control socket', async (t) => {
  const split = splitConnectOptions({ port: 1, host: 'h', allowHalfOpen: true, ringSize: 8192, highWaterMark: 10, timeout: 5, unknownKey: 1 });
  t.same(split.socket, { port: 1, host: 'h' });
  t.same(split.transport, { ringSize: 8192, allowHalfOpen: true });
  t.same(split.conn, { highWaterMark: 10 });
  t.equal(split.timeout, 5);
});

t.test('onread goes to the Conn, never to the control socket', async (t) => {
  const onread = { buffer: new Uint8Array(8), callback: () => true };
  const split = splitConnectOptions({ path: '/x', onread });
  t.same(split.socket, { path: '/x' });
  t.equal(split.conn.onread, onread);
});

t.test('createServer honours pauseOnConnect instead of refusing it', async (t) => {
  const server = createServer({ pauseOnConnect: true });
  t.ok(server);
});
