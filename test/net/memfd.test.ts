/**
 * Nameless segments: over a Unix-socket control channel on Linux the region
 * is a sealed memfd passed with SCM_RIGHTS, so /dev/shm never holds a name.
 */
import t from 'tap';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect, type Conn } from '../../src/index.js';
import { createMemfdSegment } from '../../src/handshake/memfd.js';
import * as native from '../../src/native.js';
import { forkFixture, nextMessage, waitExit } from '../helpers/peer.js';
import { hashUntilEnd, sendRandom } from '../helpers/stream.js';

const linux = process.platform === 'linux' ? false : 'memfd and SCM_RIGHTS are Linux-only';

t.test('a whole run of Unix-socket connections leaves no name in /dev/shm', { skip: linux }, async (t) => {
  const poller = forkFixture('shm-poller.ts');
  await nextMessage(poller, (m) => m.ready);
  const path = join(tmpdir(), `shmnet-test-${process.pid}-memfd.sock`);
  const segments: string[] = [];
  const server = createServer((c: Conn) => {
    segments.push(c.stats().segment as string);
    c.pipe(c);
  });
  server.listen(path);
  await once(server, 'listening');
  for (let i = 0; i < 30; i++) {
    const c = connect({ path });
    await once(c, 'connect');
    t.equal(c.transport, 'shm');
    segments.push(c.stats().segment as string);
    const back = hashUntilEnd(c);
    const sent = await sendRandom(c, 256 * 1024, 16384);
    t.equal((await back).sha, sent, `connection ${i} intact`);
    if (!c.closed) await once(c, 'close');
  }
  poller.send({ cmd: 'stop' });
  const report = await nextMessage(poller, (m) => Array.isArray(m.seen));
  await waitExit(poller);
  t.ok(report.polls > 30, `the poller listed /dev/shm ${report.polls} times`);
  // Other processes on the machine make names too: only this process's (the server's) count.
  const ours = `shmnet.${process.pid.toString(36)}.`;
  t.same((report.seen as string[]).filter((n) => n.startsWith(ours)), [], 'no shmnet name of ours ever appeared in /dev/shm');
  t.same([...new Set(segments)], ['memfd'], 'both sides report a memfd segment');
  server.close();
  await once(server, 'close');
});

t.test('a TCP control socket keeps the named segment (unlinked after ACK)', async (t) => {
  const server = createServer((c: Conn) => c.resume());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const c = connect({ port: (server.address() as any).port, host: '127.0.0.1' });
  await once(c, 'connect');
  t.equal(c.stats().segment, 'named');
  c.destroy();
  server.close();
  await once(server, 'close');
});

t.test('the region is sealed: another process cannot shrink or grow it', { skip: linux }, async (t) => {
  const seg = createMemfdSegment(1 << 16);
  const seals = native.memfdSeals(seg.handle);
  t.ok(seals & native.F_SEAL_SHRINK, 'F_SEAL_SHRINK');
  t.ok(seals & native.F_SEAL_GROW, 'F_SEAL_GROW');
  t.ok(seals & native.F_SEAL_SEAL, 'F_SEAL_SEAL: the seals themselves cannot be removed');
  const child = forkFixture('memfd-shrink.ts', [String(process.pid), String(seg.handle), String(seg.region.size)]);
  const r = await nextMessage(child);
  await waitExit(child);
  t.equal(r.shrink, 'EPERM', 'shrinking fails');
  t.equal(r.grow, 'EPERM', 'growing fails');
  seg.region.bytes[seg.region.size - 1] = 1;
  t.equal(seg.region.bytes[seg.region.size - 1], 1, 'the mapping is intact');
  native.handleClose(seg.handle);
  seg.region.close();
});
