/**
 * Zero-copy lanes of the ring: claim/commit in place on the producer,
 * borrow/release in place on the consumer. Fill until full, drain until
 * empty, wrap at every offset class, interplay with the copying calls,
 * misuse (coded errors), and a hostile peer's counters (checked before a
 * view is made). The two-thread integrity run is in lanes-threads.test.ts.
 */
import t from 'tap';
import { codes } from '../../src/errors.js';
import { regionSize, ringOffsets } from '../../src/ring/header.js';
import { HEAD_INDEX, MIN_CAPACITY, RING_CONTROL_WORDS, RING_S2C, TAIL_INDEX } from '../../src/ring/layout.js';
import { initRing, RingConsumer, RingProducer } from '../../src/ring/ring.js';
import { fillRandom, prng } from '../fixtures/ring-prng.js';

function lanes(capacity = MIN_CAPACITY) {
  const sab = new SharedArrayBuffer(regionSize(capacity));
  const { controlOffset, dataOffset } = ringOffsets(capacity)[RING_S2C]!;
  initRing(sab, controlOffset);
  const words = new Int32Array(sab, controlOffset, RING_CONTROL_WORDS);
  const data = new Uint8Array(sab, dataOffset, capacity);
  return { words, data, p: new RingProducer(sab, controlOffset, dataOffset, capacity), c: new RingConsumer(sab, controlOffset, dataOffset, capacity) };
}

/** Writes `src` through claims (any size they give); returns how many claims it took. */
function claimAll(p: RingProducer, src: Uint8Array): number {
  let off = 0;
  let claims = 0;
  while (off < src.length) {
    const v = p.claim(src.length - off);
    if (v === null) throw new Error('ring full');
    v.set(src.subarray(off, off + v.length));
    p.commit(v.length);
    off += v.length;
    claims++;
  }
  return claims;
}

/** Reads everything readable through borrows. */
function borrowAll(c: RingConsumer): Buffer {
  const parts: Buffer[] = [];
  for (let v = c.borrow(); v !== null; v = c.borrow()) {
    parts.push(Buffer.from(v));
    c.release(v.length);
  }
  return Buffer.concat(parts);
}

t.test('claim, fill in place, commit; borrow in place, release: the same bytes, no copy on either side', async (t) => {
  const { p, c, data } = lanes();
  const v = p.claim(100)!;
  t.equal(v.length, 100);
  t.equal(v.buffer, data.buffer, 'the claim is a view of the ring itself');
  v.fill(7, 0, 60);
  t.equal(c.readable(), 0, 'nothing is visible before commit');
  p.commit(60);
  t.equal(c.readable(), 60);
  const b = c.borrow()!;
  t.equal(b.length, 60);
  t.equal(b.buffer, data.buffer, 'the borrow is a view of the ring itself');
  t.equal(b.byteOffset, v.byteOffset, 'of the very bytes the producer wrote');
  t.ok(b.every((x) => x === 7));
  t.equal(p.writable(), MIN_CAPACITY - 60, 'a held borrow keeps its bytes');
  c.release(20);
  t.equal(p.writable(), MIN_CAPACITY - 40, 'a release frees a prefix');
  const rest = c.borrow()!;
  t.equal(rest.length, 40, 'the unreleased rest comes again');
  c.release(40);
  t.equal(c.borrow(), null, 'empty');
});

t.test('fill until full, drain until empty', async (t) => {
  const { p, c } = lanes();
  let filled = 0;
  for (let v = p.claim(1000); v !== null; v = p.claim(1000)) {
    v.fill(filled & 0xff);
    p.commit(v.length);
    filled += v.length;
  }
  t.equal(filled, MIN_CAPACITY, 'claims stop at a full ring');
  t.equal(p.writable(), 0);
  const got = borrowAll(c);
  t.equal(got.length, MIN_CAPACITY, 'borrows stop at an empty ring');
  t.equal(c.readable(), 0);
});

t.test('wrap-around at every offset class: a view ends at the end of the data area, the next starts at 0', async (t) => {
  const rnd = prng(11);
  let checked = 0;
  for (let start = 0; start < 64; start++) {
    for (const near of [0, MIN_CAPACITY - 64]) {
      const { p, c } = lanes();
      // Move both counters to `near + start`.
      const skip = new Uint8Array(near + start);
      let off = 0;
      while (off < skip.length) {
        off += p.write(skip, off);
        c.read(new Uint8Array(MIN_CAPACITY));
      }
      const src = new Uint8Array(MIN_CAPACITY - (rnd() % 100));
      fillRandom(rnd, src);
      const claims = claimAll(p, src);
      const wraps = ((near + start) & (MIN_CAPACITY - 1)) + src.length > MIN_CAPACITY;
      if (claims !== (wraps ? 2 : 1)) t.fail(`start ${near + start}: ${claims} claims`);
      if (!borrowAll(c).equals(src)) t.fail(`start ${near + start}: bytes differ`);
      checked++;
    }
  }
  t.equal(checked, 128, 'every start offset class, at the beginning and near the end');
});

t.test('lanes and copies interoperate: write → borrow, claim → read, over many wraps', async (t) => {
  const { p, c } = lanes();
  const rnd = prng(3);
  const sent: Buffer[] = [];
  const got: Buffer[] = [];
  const target = new Uint8Array(MIN_CAPACITY);
  for (let i = 0; i < 2000; i++) {
    const src = new Uint8Array(1 + (rnd() % 1500));
    fillRandom(rnd, src);
    if (p.writable() < src.length) {
      // drain, alternating the consumer's way
      if (i & 1) got.push(borrowAll(c));
      else got.push(Buffer.from(target.subarray(0, c.read(target))));
    }
    if (rnd() & 1) claimAll(p, src);
    else t.equal(p.write(src), src.length);
    sent.push(Buffer.from(src));
  }
  got.push(borrowAll(c));
  t.ok(Buffer.concat(got).equals(Buffer.concat(sent)), 'every byte, in order');
});

t.test('misuse fails loudly with a code', async (t) => {
  const { p, c } = lanes();
  t.throws(() => p.commit(1), { code: codes.INVALID_STATE }, 'commit without a claim');
  t.throws(() => p.claim(0), { code: codes.OUT_OF_RANGE }, 'claim of nothing');
  t.throws(() => p.claim(-1), { code: codes.OUT_OF_RANGE });
  t.throws(() => p.claim(1.5), { code: codes.OUT_OF_RANGE });
  const v = p.claim(10)!;
  t.throws(() => p.claim(10), { code: codes.INVALID_STATE }, 'a second claim while one is outstanding');
  t.throws(() => p.write(new Uint8Array(1)), { code: codes.INVALID_STATE }, 'a copy while a claim is outstanding');
  t.throws(() => p.writeAll(new Uint8Array(1)), { code: codes.INVALID_STATE });
  t.throws(() => p.commit(11), { code: codes.OUT_OF_RANGE }, 'a commit past the reservation');
  t.throws(() => p.commit(-1), { code: codes.OUT_OF_RANGE });
  t.equal(c.readable(), 0, 'a failed commit publishes nothing');
  v.fill(1);
  p.commit(10);
  t.throws(() => p.commit(0), { code: codes.INVALID_STATE }, 'a claim commits once');

  t.throws(() => c.release(0), { code: codes.INVALID_STATE }, 'release without a borrow');
  t.throws(() => c.borrow(0), { code: codes.OUT_OF_RANGE });
  const b = c.borrow(4)!;
  t.equal(b.length, 4, 'borrow honours max');
  t.throws(() => c.borrow(), { code: codes.INVALID_STATE }, 'a second borrow while one is held');
  t.throws(() => c.read(new Uint8Array(4)), { code: codes.INVALID_STATE }, 'a copy while a borrow is held');
  t.throws(() => c.readBuffer(4), { code: codes.INVALID_STATE });
  t.throws(() => c.release(5), { code: codes.OUT_OF_RANGE }, 'a release past the borrow');
  c.release(4);
  t.throws(() => c.release(0), { code: codes.INVALID_STATE }, 'a borrow releases once');
  t.equal(c.readable(), 6);
});

t.test('after end(), abort() or close() an outstanding view is void: SHMNET_ERR_CLOSED', async (t) => {
  {
    const { p, c } = lanes();
    p.claim(10)!.fill(9);
    p.end();
    t.throws(() => p.commit(10), { code: codes.CLOSED }, 'commit after end()');
    t.throws(() => p.claim(1), { code: codes.CLOSED }, 'claim after end()');
    t.ok(c.finished(), 'the void claim published nothing: the stream is empty and ended');
  }
  {
    const { p } = lanes();
    p.claim(10);
    p.abort();
    t.throws(() => p.commit(10), { code: codes.CLOSED }, 'commit after abort()');
  }
  {
    const { p, c } = lanes();
    p.claim(10);
    p.close();
    t.throws(() => p.commit(10), { code: codes.CLOSED }, 'commit after close()');
    t.throws(() => p.claim(1), { code: codes.CLOSED });
    t.throws(() => p.write(new Uint8Array(1)), { code: codes.CLOSED });
    t.equal(c.readable(), 0);
  }
  {
    const { p, c } = lanes();
    p.write(new Uint8Array(10));
    c.borrow();
    c.close();
    t.throws(() => c.release(10), { code: codes.CLOSED }, 'release after close()');
    t.throws(() => c.borrow(), { code: codes.CLOSED }, 'borrow after close()');
    t.throws(() => c.read(new Uint8Array(1)), { code: codes.CLOSED });
    t.equal(p.writable(), MIN_CAPACITY - 10, 'the void borrow freed nothing');
  }
});

t.test('a hostile peer: counters are checked before any view is made; a borrowed range never moves', async (t) => {
  {
    const { words, c } = lanes();
    Atomics.store(words, HEAD_INDEX, MIN_CAPACITY + 1);
    t.throws(() => c.borrow(), { code: codes.RING_CORRUPT }, 'a head beyond capacity: no view');
  }
  {
    const { words, p, c } = lanes();
    p.write(new Uint8Array(100));
    const b = c.borrow()!;
    // While the borrow is held the peer moves head backwards and scribbles over the bytes.
    Atomics.store(words, HEAD_INDEX, 10);
    b.fill(0xee);
    t.equal(b.length, 100, 'the held view keeps its place and length');
    c.release(50);
    t.throws(() => c.borrow(), { code: codes.RING_CORRUPT }, 'the next borrow sees the bad head and makes no view');
  }
  {
    const { words, p } = lanes();
    p.write(new Uint8Array(100));
    Atomics.store(words, TAIL_INDEX, 200);
    t.throws(() => p.claim(MIN_CAPACITY), { code: codes.RING_CORRUPT }, 'a tail ahead of head: no claim');
  }
  {
    const { words, p } = lanes();
    p.write(new Uint8Array(100));
    Atomics.store(words, TAIL_INDEX, -5);
    t.throws(() => p.claim(MIN_CAPACITY), { code: codes.RING_CORRUPT }, 'a tail behind its last value: no claim');
  }
  // Random counters: every call either throws RING_CORRUPT or gives a view inside the data area.
  const rnd = prng(99);
  let views = 0;
  for (let i = 0; i < 2000; i++) {
    const { words, p, c, data } = lanes();
    p.write(new Uint8Array(rnd() % MIN_CAPACITY));
    Atomics.store(words, i & 1 ? HEAD_INDEX : TAIL_INDEX, rnd() | 0);
    for (const make of [() => c.borrow(1 + (rnd() % (2 * MIN_CAPACITY))), () => p.claim(1 + (rnd() % (2 * MIN_CAPACITY)))]) {
      try {
        const v = make();
        if (v !== null) {
          views++;
          if (v.byteOffset < data.byteOffset || v.byteOffset + v.length > data.byteOffset + MIN_CAPACITY) t.fail('a view outside the data area');
        }
      } catch (err) {
        if ((err as { code?: string }).code !== codes.RING_CORRUPT) throw err;
      }
    }
  }
  t.ok(views > 0, `${views} views made from random counters, each inside the data area`);
});
