/**
 * Zero-copy lanes on a Conn (claim/commit, borrow/release), over a worker
 * channel in this thread (both ends here, so the test can also play a
 * hostile peer on the shared region) and over a real connection: the
 * contract, the misuse errors, the end of stream, teardown during a view,
 * and the socket fallback's refusal.
 */
import t from 'tap';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChannel, openChannel } from '../../src/channel/index.js';
import { connect, createServer, type Conn } from '../../src/index.js';
import { readHeader } from '../../src/ring/header.js';
import { HEAD_INDEX, MIN_CAPACITY, RING_C2S } from '../../src/ring/layout.js';

function pair(ringSize = MIN_CAPACITY): { a: Conn; b: Conn; buffer: SharedArrayBuffer } {
  const { port1, port2 } = createChannel({ ringSize, spin: 0 });
  return { a: openChannel(port1), b: openChannel(port2), buffer: port1.buffer };
}

async function connected(...conns: Conn[]): Promise<void> {
  await Promise.all(conns.map((c) => (c.connecting ? once(c, 'connect') : null)));
}

/** Waits until `b` can borrow something; returns the view. */
async function borrowSome(b: Conn, max?: number): Promise<Uint8Array> {
  for (;;) {
    const v = b.borrow(max);
    if (v !== null) return v;
    await once(b, 'borrowable');
  }
}

t.test('claim, fill in place, commit; borrow, read in place, release', async (t) => {
  const { a, b } = pair();
  await connected(a, b);
  b.pause();
  const view = a.claim(100)!;
  t.equal(view.length, 100);
  view.set(Buffer.from('hello, ring'));
  a.commit(11);
  t.equal(a.bytesWritten, 11);
  const got = await borrowSome(b);
  t.equal(Buffer.from(got).toString(), 'hello, ring');
  b.release(5);
  const rest = b.borrow()!;
  t.equal(Buffer.from(rest).toString(), ', ring', 'the unreleased rest comes again');
  b.release(rest.length);
  t.equal(b.bytesRead, 11);
  t.equal(b.borrow(), null, 'empty: null');
  a.destroy();
  b.destroy();
});

t.test('misuse fails loudly with codes', async (t) => {
  const { a, b } = pair();
  await connected(a, b);
  t.throws(() => a.commit(1), { code: 'SHMNET_ERR_INVALID_STATE' }, 'commit without a claim');
  t.throws(() => a.claim(0), { code: 'SHMNET_ERR_OUT_OF_RANGE' });
  const v = a.claim(10)!;
  t.throws(() => a.claim(10), { code: 'SHMNET_ERR_INVALID_STATE' }, 'a second claim');
  t.throws(() => a.commit(v.length + 1), { code: 'SHMNET_ERR_OUT_OF_RANGE' }, 'commit past the reservation');
  a.commit(v.length);
  b.on('data', () => {});
  t.throws(() => b.borrow(), { code: 'SHMNET_ERR_INVALID_STATE' }, 'borrow while flowing');
  b.pause();
  const got = await borrowSome(b);
  t.throws(() => b.borrow(), { code: 'SHMNET_ERR_INVALID_STATE' }, 'a second borrow while one is held');
  t.throws(() => b.release(got.length + 1), { code: 'SHMNET_ERR_OUT_OF_RANGE' }, 'release past the borrow');
  t.throws(() => b.resume(), { code: 'SHMNET_ERR_INVALID_STATE' }, 'resume while a borrow is held');
  b.release(got.length);
  t.throws(() => b.release(0), { code: 'SHMNET_ERR_INVALID_STATE' }, 'release without a borrow');
  a.destroy();
  b.destroy();
});

t.test('a write during a claim waits behind it; a claim waits for pending writes', async (t) => {
  const { a, b } = pair();
  await connected(a, b);
  const v = a.claim(3)!;
  a.write(Buffer.from('second'));
  t.ok(a.writableLength > 0, 'the write is pending behind the claim');
  v.set(Buffer.from('1st'));
  a.commit(3);
  // A full ring: the pending write blocks a claim.
  const written = new Promise((resolve) => a.write(Buffer.alloc(MIN_CAPACITY * 2, 0x78), resolve));
  t.throws(() => a.claim(1), { code: 'SHMNET_ERR_INVALID_STATE' }, 'claim while stream writes are pending');
  const chunks: Buffer[] = [];
  b.on('data', (d: Buffer) => chunks.push(d));
  await written;
  a.end();
  await once(b, 'end');
  const all = Buffer.concat(chunks);
  t.equal(all.subarray(0, 9).toString(), '1stsecond', 'in order');
  t.equal(all.length, 9 + MIN_CAPACITY * 2);
  a.destroy();
  b.destroy();
});

t.test("a full ring: claim returns null, then 'claimable'", async (t) => {
  const { a, b } = pair();
  await connected(a, b);
  b.pause();
  let moved = 0;
  for (let v = a.claim(MIN_CAPACITY); v !== null; v = a.claim(MIN_CAPACITY)) {
    a.commit(v.length);
    moved += v.length;
  }
  t.equal(moved, MIN_CAPACITY, 'filled the ring');
  const claimable = once(a, 'claimable');
  const got = await borrowSome(b);
  b.release(got.length);
  await claimable;
  t.ok(a.claim(1), 'space again');
  a.commit(0);
  a.destroy();
  b.destroy();
});

t.test("the peer's FIN comes after the last borrowed byte; buffered bytes come first", async (t) => {
  const { a, b } = pair();
  await connected(a, b);
  // b is not paused: the stream buffers what arrives before the first borrow.
  a.write(Buffer.from('buffered'));
  await once(b, 'readable');
  const v = a.claim(5)!;
  v.set(Buffer.from('laned'));
  a.commit(5);
  a.end();
  const seen: string[] = [];
  let ended = false;
  b.once('end', () => (ended = true));
  for (;;) {
    const got = b.borrow(4);
    if (got === null) {
      if (ended || b.readableEnded) break;
      const ev = await Promise.race([once(b, 'borrowable').then(() => 'b'), once(b, 'end').then(() => 'e')]);
      if (ev === 'e') break;
      continue;
    }
    t.notOk(ended, "no 'end' while bytes remain");
    seen.push(Buffer.from(got).toString());
    b.release(got.length);
  }
  if (!ended) await once(b, 'end');
  t.equal(seen.join(''), 'bufferedlaned');
  t.ok(seen.every((s) => s.length <= 4), 'max is honoured');
  a.destroy();
  b.destroy();
});

t.test('destroy() during a reservation and during a borrow', async (t) => {
  const { a, b } = pair();
  await connected(a, b);
  b.pause();
  const v = a.claim(8)!;
  a.destroy();
  t.throws(() => a.commit(8), { code: 'SHMNET_ERR_CLOSED' }, 'commit after destroy');
  t.throws(() => a.claim(8), { code: 'SHMNET_ERR_CLOSED' }, 'claim after destroy');
  v.fill(1); // the view stays memory-safe to touch
  const { a: c, b: d } = pair();
  await connected(c, d);
  d.pause();
  c.write(Buffer.from('xyz'));
  const got = await borrowSome(d);
  d.destroy();
  t.equal(got[0], 0x78, 'the view stays readable');
  t.throws(() => d.release(1), { code: 'SHMNET_ERR_CLOSED' }, 'release after destroy');
  t.throws(() => d.borrow(), { code: 'SHMNET_ERR_CLOSED' }, 'borrow after destroy');
  c.destroy();
  b.destroy();
});

t.test('a hostile peer moving head during a borrow: SHMNET_ERR_RING_CORRUPT, no crash', async (t) => {
  for (const bad of [0x7fff0000, -1]) {
    const { a, b, buffer } = pair();
    await connected(a, b);
    b.pause();
    a.write(Buffer.from('abcdef'));
    const got = await borrowSome(b);
    const words = new Int32Array(buffer, readHeader(buffer).rings[RING_C2S].controlOffset, 64);
    Atomics.store(words, HEAD_INDEX, bad);
    const err = once(b, 'error');
    b.release(got.length);
    t.equal(b.borrow(), null, 'the next borrow gives nothing');
    const [e] = (await err) as [Error & { code: string }];
    t.equal(e.code, 'SHMNET_ERR_RING_CORRUPT');
    t.ok(b.destroyed);
    a.destroy();
  }
});

t.test("over the socket fallback the lanes are SHMNET_ERR_UNSUPPORTED; before 'connect' INVALID_STATE", async (t) => {
  const server = createServer({ transport: 'tcp' }, (c) => c.resume());
  const path = join(tmpdir(), `shmnet-lanes-${process.pid}-${Math.random().toString(36).slice(2)}.sock`);
  server.listen(path);
  await once(server, 'listening');
  const c = connect({ path, transport: 'tcp' });
  t.throws(() => c.claim(1), { code: 'SHMNET_ERR_INVALID_STATE' });
  await once(c, 'connect');
  t.equal(c.transport, 'tcp');
  t.throws(() => c.claim(1), { code: 'SHMNET_ERR_UNSUPPORTED' });
  t.throws(() => c.borrow(), { code: 'SHMNET_ERR_UNSUPPORTED' });
  c.destroy();
  server.close();
  await once(server, 'close');
});
