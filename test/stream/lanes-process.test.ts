/**
 * Zero-copy lanes across two processes: SHA-256 integrity of 256 MiB from
 * claim/commit into borrow/release, in random claim and borrow sizes with
 * random partial commits and releases, through a ring of the minimum size
 * (so views stop at the wrap at every offset class, tens of thousands of
 * times), both ways; and the peer process killed while a view is held.
 */
import t from 'tap';
import { once } from 'node:events';
import { createServer, type Conn } from '../../src/index.js';
import { MIN_CAPACITY } from '../../src/ring/layout.js';
import { expectNoNamesLeft, forkFixture, nextMessage, socketPath, waitExit } from '../helpers/peer.js';
import { borrowUntilEnd, claimRandom } from '../helpers/stream.js';

const TOTAL = 256 * 1024 * 1024;
expectNoNamesLeft(t);

async function withPeer(mode: string, extra: object, body: (conn: Conn, child: ReturnType<typeof forkFixture>) => Promise<void>): Promise<void> {
  const server = createServer({ ringSize: MIN_CAPACITY });
  const path = socketPath();
  server.listen(path);
  await once(server, 'listening');
  const child = forkFixture('conn-peer.ts', [JSON.stringify({ mode, address: { path }, options: { ringSize: MIN_CAPACITY }, ...extra })]);
  const [conn] = (await once(server, 'connection')) as [Conn];
  await body(conn, child);
  server.close();
  await once(server, 'close');
}

t.test('256 MiB from a peer claiming into this process borrowing', (t) =>
  withPeer('claim-source', { bytes: TOTAL, maxChunk: 16 * 1024 }, async (conn, child) => {
    t.equal(conn.transport, 'shm');
    t.equal(conn.stats().ringSize, MIN_CAPACITY, 'the ring has the minimum size');
    conn.pause();
    const got = borrowUntilEnd(conn, 16 * 1024);
    const sent = await nextMessage(child, (m) => m.event === 'done');
    const r = await got;
    t.equal(r.bytes, TOTAL, 'every byte arrived');
    t.equal(r.sha, sent.sha, 'SHA-256 claim/commit → borrow/release matches');
    t.comment(`${r.borrows} borrows`);
    conn.end();
    t.equal(await waitExit(child), 0, 'the peer exited cleanly');
  }),
);

t.test('256 MiB from this process claiming into a peer borrowing', (t) =>
  withPeer('borrow-sink', {}, async (conn, child) => {
    const done = nextMessage(child, (m) => m.event === 'done');
    conn.resume();
    const sent = await claimRandom(conn, TOTAL, 16 * 1024);
    const r = await done;
    t.equal(r.bytes, TOTAL, 'every byte arrived');
    t.equal(r.sha, sent, 'SHA-256 claim/commit → peer borrow/release matches');
    if (!conn.destroyed) await once(conn, 'close');
    t.equal(await waitExit(child), 0, 'the peer exited cleanly');
  }),
);

t.test('the peer killed during a borrow: PEER_GONE, the view stays safe, release is CLOSED', (t) =>
  withPeer('source', { bytes: 0 }, async (conn, child) => {
    conn.pause();
    let view = conn.borrow();
    while (view === null) {
      await once(conn, 'borrowable');
      view = conn.borrow();
    }
    const err = once(conn, 'error');
    child.kill('SIGKILL');
    const [e] = (await err) as [Error & { code: string }];
    t.equal(e.code, 'SHMNET_ERR_PEER_GONE');
    t.type(view[view.length - 1], 'number', 'the borrowed view is still memory-safe to read');
    t.throws(() => conn.release(view!.length), { code: 'SHMNET_ERR_CLOSED' });
    await waitExit(child);
  }),
);

t.test('the peer killed during a reservation: PEER_GONE, commit is CLOSED', (t) =>
  withPeer('idle', {}, async (conn, child) => {
    await nextMessage(child, (m) => m.event === 'connect');
    const view = conn.claim(1024)!;
    t.equal(view.length, 1024);
    const err = once(conn, 'error');
    child.kill('SIGKILL');
    const [e] = (await err) as [Error & { code: string }];
    t.equal(e.code, 'SHMNET_ERR_PEER_GONE');
    view.fill(7);
    t.throws(() => conn.commit(1024), { code: 'SHMNET_ERR_CLOSED' });
    await waitExit(child);
  }),
);
