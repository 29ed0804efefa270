/**
 * Cross-process integrity of MessageConn with binary payloads: a forked
 * peer (test/fixtures/message-peer.ts, mode 'source') sends { seq, data }
 * messages until 256 MiB of `data` has crossed, each `data` random and of
 * random size from 1 byte to 1 MiB (log-uniform: most frames are small and
 * go through the send batch, and about three in ten are 16 KiB or more and
 * are written on their own). The ring has the minimum size, so frames
 * straddle its end at every offset and the ring wraps tens of thousands of
 * times. Each message arrives once, in order (seq), and the SHA-256 of the
 * `data` received equals the peer's. Once in map mode, once with records.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Conn } from '../../src/index.js';
import { MessageConn } from '../../src/message/index.js';
import { MIN_CAPACITY } from '../../src/ring/layout.js';
import { expectNoNamesLeft, forkFixture, nextMessage, waitExit } from '../helpers/peer.js';

const TOTAL = 256 * 1024 * 1024;
const MAX_MESSAGE = 2 * 1024 * 1024;
expectNoNamesLeft(t);

for (const records of [false, true]) {
  t.test(`256 MiB of binary payloads in random sizes from a peer process, ${records ? 'records' : 'map'} mode, minimum ring`, async (t) => {
    const server = createServer({ ringSize: MIN_CAPACITY });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    const child = forkFixture('message-peer.ts', [
      JSON.stringify({ port, mode: 'source', bytes: TOTAL, ringSize: MIN_CAPACITY, records, maxMessageSize: MAX_MESSAGE }),
    ]);
    const [conn] = (await once(server, 'connection')) as [Conn];
    t.equal(conn.transport, 'shm');
    t.equal(conn.stats().ringSize, MIN_CAPACITY, 'the ring has the minimum size');
    const mc = new MessageConn(conn, { records, maxMessageSize: MAX_MESSAGE });

    const hash = createHash('sha256');
    let bytes = 0;
    let next = 0;
    let outOfOrder = 0;
    let notBinary = 0;
    let large = 0;
    const received = new Promise<void>((resolve, reject) => {
      mc.on('message', (m: { seq: number; data: Uint8Array; note?: string }) => {
        if (m.seq !== next || (m.seq % 5 === 4) !== (m.note === 'fifth')) outOfOrder++;
        next++;
        if (!(m.data instanceof Uint8Array)) {
          notBinary++;
          return;
        }
        if (m.data.length >= 16 * 1024) large++;
        hash.update(m.data);
        bytes += m.data.length;
      });
      mc.once('end', resolve);
      mc.once('error', reject);
    });
    const sent = nextMessage(child, (m) => m?.event === 'sent');
    await received;
    const report = await sent;

    t.equal(bytes, TOTAL, 'every payload byte arrived');
    t.equal(hash.digest('hex'), report.sha, 'SHA-256 of the payloads matches the peer');
    t.equal(next, report.count, 'as many messages as the peer sent');
    t.equal(outOfOrder, 0, 'each message once, in order, with its own keys');
    t.equal(notBinary, 0, 'every payload arrived as bytes');
    t.ok(large > 0 && large < next, 'both frames written on their own and batched frames crossed');
    t.comment(`${next} messages, ${large} of 16 KiB or more`);

    mc.end();
    await nextMessage(child, (m) => m?.event === 'done');
    child.disconnect();
    t.equal(await waitExit(child), 0, 'the peer exited cleanly');
    server.close();
    await once(server, 'close');
  });
}
