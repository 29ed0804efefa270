/** An idle pair of Conns, after the spin budget, costs (almost) no CPU in either process. */
import t from 'tap';
import { once } from 'node:events';
import { createServer, type Conn } from '../../src/index.js';
import { forkFixture, nextMessage, waitExit } from '../helpers/peer.js';

const IDLE_MS = 2000;
const MAX_SHARE = 0.02; // of one core

t.test('idle Conns park and cost ~0 CPU', async (t) => {
  const server = createServer({ spin: 100 });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as any;
  const child = forkFixture('conn-peer.ts', [JSON.stringify({ mode: 'idle', address: { port, host: '127.0.0.1' }, options: { spin: 100 } })]);
  const [conn] = (await once(server, 'connection')) as [Conn];
  await nextMessage(child, (m) => m.event === 'connect');
  t.equal(conn.transport, 'shm');
  conn.resume();
  // Some traffic first, so both sides have spun and then parked.
  conn.write(Buffer.alloc(100_000));
  while ((conn.stats().parks as number) === 0) await new Promise((r) => setTimeout(r, 5));
  const before = process.cpuUsage();
  child.send({ cmd: 'cpu' });
  const childBefore = (await nextMessage(child, (m) => m.event === 'cpu')).usage;
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const mine = process.cpuUsage(before);
  child.send({ cmd: 'cpu', since: childBefore });
  const theirs = (await nextMessage(child, (m) => m.event === 'cpu')).usage;
  const share = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000 / IDLE_MS;
  t.comment(`server process ${(share(mine) * 100).toFixed(2)}% of a core, client process ${(share(theirs) * 100).toFixed(2)}%`);
  t.ok(share(mine) < MAX_SHARE, `server-side process used ${(share(mine) * 100).toFixed(2)}% of a core`);
  t.ok(share(theirs) < MAX_SHARE, `client-side process used ${(share(theirs) * 100).toFixed(2)}% of a core`);
  t.ok((conn.stats().parks as number) > 0, 'the server side parked');
  conn.end();
  await once(conn, 'close');
  await waitExit(child);
  server.close();
});
