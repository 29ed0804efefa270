/**
 * Cross-process integrity: a forked child connects and echoes; the parent
 * sends 256 MiB in random chunk sizes (1 B to 1 MiB); SHA-256 of what was
 * sent equals what the child received and what came back.
 */
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Conn, type Server } from '../../src/index.js';
import { forkFixture, nextMessage, shmEntries, waitExit } from '../helpers/peer.js';
import { hashUntilEnd, sendRandom } from '../helpers/stream.js';

const TOTAL = 256 * 1024 * 1024;
const OWN_NAMES = `shmnet.${process.pid.toString(36)}.`;

t.teardown(() => {
  const left = shmEntries(OWN_NAMES);
  if (left.length > 0) throw new Error(`names left in /dev/shm: ${left.join(', ')}`);
});

async function listen(server: Server, address: unknown): Promise<unknown> {
  server.listen(address);
  await once(server, 'listening');
  return server.address();
}

async function run(
  t: Test,
  opts: { address: 'tcp' | 'unix'; expect: 'shm' | 'tcp'; serverOptions?: object; childOptions?: object; childEnv?: NodeJS.ProcessEnv },
) {
  const server = createServer(opts.serverOptions ?? {});
  let addr: any;
  if (opts.address === 'tcp') {
    const a: any = await listen(server, { port: 0, host: '127.0.0.1' });
    addr = { port: a.port, host: '127.0.0.1' };
  } else {
    const path = join(tmpdir(), `shmnet-test-${process.pid}-${Math.random().toString(36).slice(2)}.sock`);
    await listen(server, path);
    addr = { path };
  }
  const child = forkFixture('conn-peer.ts', [JSON.stringify({ mode: 'echo', address: addr, options: opts.childOptions })], opts.childEnv);
  const [conn] = (await once(server, 'connection')) as [Conn];
  t.equal(conn.transport, opts.expect, `server side runs over ${opts.expect}`);
  const childConnect = await nextMessage(child, (m) => m.event === 'connect');
  t.equal(childConnect.transport, opts.expect, `client side runs over ${opts.expect}`);
  const childDone = nextMessage(child, (m) => m.event === 'done');
  const back = hashUntilEnd(conn);
  const t0 = performance.now();
  const sent = await sendRandom(conn, TOTAL);
  const [received, echoed] = await Promise.all([childDone, back]);
  const ms = performance.now() - t0;
  t.equal(received.bytes, TOTAL, 'the child received every byte');
  t.equal(received.sha, sent, 'SHA-256 parent → child matches');
  t.equal(echoed.bytes, TOTAL, 'every byte came back');
  t.equal(echoed.sha, sent, 'SHA-256 child → parent matches');
  t.equal(conn.bytesWritten, TOTAL);
  t.equal(conn.bytesRead, TOTAL);
  t.comment(`${opts.address}/${opts.expect}: 256 MiB echoed in ${ms.toFixed(0)} ms`);
  if (!conn.destroyed) await once(conn, 'close');
  t.equal(await waitExit(child), 0, 'the child exited cleanly');
  server.close();
  await once(server, 'close');
}

t.test('shared memory, control socket on a TCP port', (t) => run(t, { address: 'tcp', expect: 'shm' }));
t.test('shared memory, control socket on a Unix socket path', (t) => run(t, { address: 'unix', expect: 'shm' }));
t.test('fallback: the peer reports another host', (t) =>
  run(t, { address: 'tcp', expect: 'tcp', childEnv: { SHMNET_HOST_ID: 'some-other-host:boot' } }),
);
t.test("fallback: transport 'tcp' on a Unix socket path", (t) =>
  run(t, { address: 'unix', expect: 'tcp', childOptions: { transport: 'tcp' } }),
);
