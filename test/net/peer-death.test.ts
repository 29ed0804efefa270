/**
 * A peer SIGKILLed mid-transfer: the survivor errors with PEER_GONE and
 * closes. No timer is involved (the kernel closes the dead process's
 * control socket); the bound below is generous and only rules out a hang.
 */
import t from 'tap';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect, codes, type Conn } from '../../src/index.js';
import { forkFixture, nextMessage, shmEntries, waitExit } from '../helpers/peer.js';

const OWN_NAMES = `shmnet.${process.pid.toString(36)}.`;
t.teardown(() => {
  const left = shmEntries(OWN_NAMES);
  if (left.length > 0) throw new Error(`names left in /dev/shm: ${left.join(', ')}`);
});

async function expectGone(t: any, conn: Conn, killedAt: number): Promise<void> {
  // (events.once for 'close' would reject on 'error', so plain listeners.)
  const errP = new Promise<any>((r) => conn.once('error', r));
  const closeP = new Promise<void>((r) => conn.once('close', () => r()));
  const err = await errP;
  await closeP;
  const ms = performance.now() - killedAt;
  t.equal(err.code, codes.PEER_GONE, 'the survivor gets SHMNET_ERR_PEER_GONE');
  t.ok(ms < 30_000, `'error' and 'close' ${ms.toFixed(1)} ms after the kill`);
}

t.test('the client process dies while sending: the server side survives', async (t) => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as any;
  const child = forkFixture('conn-peer.ts', [JSON.stringify({ mode: 'source', bytes: 0, address: { port, host: '127.0.0.1' } })]);
  const [conn] = (await once(server, 'connection')) as [Conn];
  t.equal(conn.transport, 'shm');
  let got = 0;
  conn.on('data', (d: Buffer) => (got += d.length));
  while (got < 8 * 1024 * 1024) await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGKILL');
  const killedAt = performance.now();
  await expectGone(t, conn, killedAt);
  await waitExit(child);
  server.close();
});

t.test('the server process dies while the client sends: the client side survives', async (t) => {
  const path = join(tmpdir(), `shmnet-test-${process.pid}-death.sock`);
  const child = forkFixture('conn-peer.ts', [JSON.stringify({ mode: 'serve-echo', address: path })]);
  await nextMessage(child, (m) => m.event === 'listening');
  const conn = connect({ path });
  await once(conn, 'connect');
  t.equal(conn.transport, 'shm');
  conn.resume();
  const chunk = Buffer.alloc(64 * 1024, 1);
  const iv = setInterval(() => {
    while (conn.writable && conn.write(chunk));
  }, 1);
  while (conn.bytesWritten < 1 << 20) await new Promise((r) => setTimeout(r, 2));
  t.ok(conn.bytesWritten > 0, 'bytes were flowing');
  child.kill('SIGKILL');
  const killedAt = performance.now();
  await expectGone(t, conn, killedAt);
  clearInterval(iv);
  await waitExit(child);
});
