import t from 'tap';
import { codes } from '../../src/errors.js';
import { regionSize, ringOffsets } from '../../src/ring/header.js';
import {
  CONSUMER_PARKED_INDEX,
  FIN_ABORTED,
  FIN_INDEX,
  HEAD_INDEX,
  MIN_CAPACITY,
  PRODUCER_PARKED_INDEX,
  RING_CONTROL_WORDS,
  RING_S2C,
  TAIL_INDEX,
} from '../../src/ring/layout.js';
import { initRing, RingConsumer, RingProducer } from '../../src/ring/ring.js';
import { between, fillRandom, prng } from '../fixtures/ring-prng.js';

const CORRUPT = { code: codes.RING_CORRUPT };

interface Setup {
  sab: SharedArrayBuffer;
  controlOffset: number;
  dataOffset: number;
  capacity: number;
  words: Int32Array;
  data: Uint8Array;
  producer: RingProducer;
  consumer: RingConsumer;
}

/** A ring (the S2C one, so offsets are not trivially 4096) with both handles. */
function makeRing(capacity = MIN_CAPACITY, startCounter?: number): Setup {
  const sab = new SharedArrayBuffer(regionSize(capacity));
  const { controlOffset, dataOffset } = ringOffsets(capacity)[RING_S2C]!;
  initRing(sab, controlOffset);
  const words = new Int32Array(sab, controlOffset, RING_CONTROL_WORDS);
  if (startCounter !== undefined) {
    words[HEAD_INDEX] = startCounter | 0;
    words[TAIL_INDEX] = startCounter | 0;
  }
  return {
    sab,
    controlOffset,
    dataOffset,
    capacity,
    words,
    data: new Uint8Array(sab, dataOffset, capacity),
    producer: new RingProducer(sab, controlOffset, dataOffset, capacity),
    consumer: new RingConsumer(sab, controlOffset, dataOffset, capacity),
  };
}

function bytes(n: number, seed = n): Uint8Array {
  const b = new Uint8Array(n);
  fillRandom(prng(seed), b);
  return b;
}

/** Reads up to `n` bytes; a short read shows up as a shorter result. */
function readUpTo(c: RingConsumer, n: number): Uint8Array {
  const out = new Uint8Array(n);
  return out.subarray(0, c.read(out, 0, n));
}

t.test('an empty ring reads nothing', async (t) => {
  const { producer, consumer, words } = makeRing();
  t.equal(consumer.readable(), 0);
  t.equal(consumer.read(new Uint8Array(10), 0, 10), 0);
  t.equal(consumer.readBuffer(100), null);
  t.equal(consumer.finished(), false);
  t.equal(producer.writable(), MIN_CAPACITY);
  t.equal(producer.capacity, MIN_CAPACITY);
  t.equal(consumer.capacity, MIN_CAPACITY);
  t.equal(words[TAIL_INDEX], 0, 'an empty read does not store tail');
  t.equal(producer.write(new Uint8Array(0)), 0);
  t.equal(words[HEAD_INDEX], 0, 'an empty write does not store head');
});

t.test('fill until full, then drain until empty', async (t) => {
  const { producer, consumer, words } = makeRing();
  const src = bytes(5000);
  const sizes: number[] = [];
  let off = 0;
  for (;;) {
    const n = producer.write(src, off, Math.min(off + 1000, src.length));
    sizes.push(n);
    if (n === 0) break;
    off += n;
  }
  t.same(sizes, [1000, 1000, 1000, 1000, 96, 0], 'partial write at the end, then 0');
  t.equal(producer.writable(), 0);
  t.equal(consumer.readable(), 4096);
  t.equal(words[HEAD_INDEX], 4096);
  t.equal(producer.write(src, 0, 1), 0, 'still full');

  const got: number[] = [];
  const out = new Uint8Array(700);
  for (;;) {
    const n = consumer.read(out, 0, 700);
    got.push(n);
    if (n === 0) break;
    t.same(out.subarray(0, n), src.subarray(4096 - consumer.readable() - n, 4096 - consumer.readable()));
  }
  t.same(got, [700, 700, 700, 700, 700, 596, 0]);
  t.equal(consumer.readable(), 0);
  t.equal(words[TAIL_INDEX], 4096);
  t.equal(producer.writable(), 4096);
  t.equal(consumer.readBuffer(10), null);
});

t.test('alternating writes and reads keep the byte sequence', async (t) => {
  const { producer, consumer } = makeRing();
  const rng = prng(7);
  const src = bytes(8192, 99);
  let expectAt = 0;
  let mismatches = 0;
  let total = 0;
  for (let i = 0; i < 5000; i++) {
    const n = between(rng, 1, 3000);
    const at = i % 4096;
    if (producer.write(src, at, at + n) !== n) mismatches++;
    const buf = consumer.readBuffer(n);
    if (!buf || buf.length !== n) {
      mismatches++;
      continue;
    }
    for (let k = 0; k < n; k++) if (buf[k] !== src[at + k]) mismatches++;
    expectAt += n;
    total += n;
  }
  t.equal(mismatches, 0);
  t.equal(expectAt, total);
  t.equal(consumer.readable(), 0);
});

t.test('writes and reads straddling the end of the data area', async (t) => {
  const { producer, consumer, data } = makeRing();
  const a = bytes(3000, 1);
  t.equal(producer.write(a), 3000);
  t.same(readUpTo(consumer, 3000), a);
  const b = bytes(2000, 2);
  t.equal(producer.write(b), 2000);
  // Raw placement: 1096 bytes at the end, 904 at the start.
  t.same(data.subarray(3000, 4096), b.subarray(0, 1096));
  t.same(data.subarray(0, 904), b.subarray(1096));
  // read() into an offset target across the wrap.
  const target = new Uint8Array(2100).fill(0xee);
  t.equal(consumer.read(target, 50, 2000), 2000);
  t.same(target.subarray(50, 2050), b);
  t.equal(target[49], 0xee);
  t.equal(target[2050], 0xee);
  // readBuffer across the wrap (position 904 + 3500 wraps at 4096).
  const c = bytes(3500, 3);
  t.equal(producer.write(c), 3500);
  const buf = consumer.readBuffer(4096);
  t.ok(Buffer.isBuffer(buf));
  t.same(buf, Buffer.from(c));
  // Every start position around the end with a straddling size.
  for (let s = 4080; s < 4096; s++) {
    const r = makeRing(MIN_CAPACITY, s);
    const d = bytes(40, s);
    t.equal(r.producer.write(d), 40);
    t.same(r.consumer.readBuffer(40), Buffer.from(d), `start ${s}`);
  }
});

t.test('capacity edge cases', async (t) => {
  for (const cap of [MIN_CAPACITY, 65536]) {
    const r = makeRing(cap);
    const whole = bytes(cap, cap);
    t.equal(r.producer.write(whole), cap, 'exactly capacity fits');
    t.equal(r.producer.writable(), 0);
    t.equal(r.producer.write(whole, 0, 1), 0);
    t.same(r.consumer.readBuffer(cap * 2), Buffer.from(whole));
    t.equal(r.producer.write(whole, 0, cap - 1), cap - 1, 'capacity - 1');
    t.equal(r.producer.writable(), 1);
    t.equal(r.producer.write(whole, 0, 2), 1, 'one byte left');
    t.equal(r.consumer.read(new Uint8Array(cap), 0, cap), cap);
    t.equal(r.producer.write(whole, 5, 6), 1, 'one byte');
    t.same(r.consumer.readBuffer(1), Buffer.from([whole[5]!]));
    const big = bytes(cap + 100, 5);
    t.equal(r.producer.write(big), cap, 'more than capacity writes capacity');
    t.same(r.consumer.readBuffer(cap), Buffer.from(big.subarray(0, cap)));
  }
  const sab = new SharedArrayBuffer(regionSize(MIN_CAPACITY));
  t.throws(() => new RingProducer(sab, 4096, 4608, 2048), { code: codes.OUT_OF_RANGE });
  t.throws(() => new RingConsumer(sab, 4096, 4608, 3000), { code: codes.OUT_OF_RANGE });
});

t.test('caller mistakes throw synchronously', async (t) => {
  const { sab, producer, consumer, dataOffset, controlOffset } = makeRing();
  const src = new Uint8Array(10);
  t.throws(() => producer.write(src, 5, 4), { code: codes.OUT_OF_RANGE });
  t.throws(() => producer.write(src, 0, 11), { code: codes.OUT_OF_RANGE });
  t.throws(() => producer.write(src, -1, 5), { code: codes.OUT_OF_RANGE });
  t.throws(() => producer.write(src, 0.5, 5), { code: codes.OUT_OF_RANGE });
  t.throws(() => consumer.read(src, 11, 1), { code: codes.OUT_OF_RANGE });
  t.throws(() => consumer.read(src, 0, -1), { code: codes.OUT_OF_RANGE });
  t.throws(() => consumer.readBuffer(-1), { code: codes.OUT_OF_RANGE });
  t.throws(() => new RingProducer(sab, controlOffset, sab.byteLength - 100, MIN_CAPACITY), { code: codes.OUT_OF_RANGE });
  t.throws(() => new RingProducer(sab, sab.byteLength, dataOffset, MIN_CAPACITY), { code: codes.OUT_OF_RANGE });
  t.throws(() => new RingProducer(sab, controlOffset + 4, dataOffset, MIN_CAPACITY), { code: codes.OUT_OF_RANGE });
  t.throws(() => new RingConsumer(sab, dataOffset, dataOffset, MIN_CAPACITY), { code: codes.OUT_OF_RANGE }, 'overlap');
  t.throws(() => new RingConsumer({} as SharedArrayBuffer, 0, 512, MIN_CAPACITY), { code: codes.INVALID_ARG });
  t.throws(() => initRing(sab, sab.byteLength - 4), { code: codes.OUT_OF_RANGE });
  // read() clamps max to the room left in the target.
  producer.write(bytes(100));
  t.equal(consumer.read(src, 4, 1000), 6);
});

/** Counts Atomics.load calls on one control word while `fn` runs. */
function countLoads(words: Int32Array, index: number, fn: () => void): number {
  const orig = Atomics.load;
  let n = 0;
  Atomics.load = ((arr: Int32Array, i: number) => {
    if (arr.buffer === words.buffer && arr.byteOffset === words.byteOffset && i === index) n++;
    return orig(arr, i);
  }) as typeof Atomics.load;
  try {
    fn();
  } finally {
    Atomics.load = orig;
  }
  return n;
}

t.test('each side re-reads the peer counter only when its cache is short', async (t) => {
  const { producer, consumer, words } = makeRing();
  const src = bytes(4096);
  t.equal(countLoads(words, TAIL_INDEX, () => t.equal(producer.write(src, 0, 1000), 1000)), 0, 'enough cached space: no tail load');
  t.equal(countLoads(words, TAIL_INDEX, () => t.equal(producer.write(src, 1000, 4096), 3096)), 0, 'exactly the cached space: no tail load');
  t.equal(countLoads(words, TAIL_INDEX, () => t.equal(producer.write(src, 0, 1), 0)), 1, 'full: one tail load');
  const out = new Uint8Array(4096);
  t.equal(countLoads(words, HEAD_INDEX, () => t.equal(consumer.read(out, 0, 100), 100)), 1, 'cold cache: head loaded');
  t.equal(countLoads(words, HEAD_INDEX, () => t.equal(consumer.read(out, 0, 100), 100)), 0, 'cached data suffices: no head load');
  // The producer sees the 200 freed bytes only by re-reading tail.
  t.equal(countLoads(words, TAIL_INDEX, () => t.equal(producer.write(src, 0, 300), 200)), 1);
  t.same(out.subarray(0, 100), src.subarray(100, 200));
});

t.test('a stale cache is used without looking, and a bad value is caught on the re-read', async (t) => {
  const { producer, consumer, words } = makeRing();
  const src = bytes(4096);
  t.equal(producer.write(src, 0, 1000), 1000);
  words[TAIL_INDEX] = 0x40000000; // garbage the producer has not looked at yet
  t.equal(producer.write(src, 0, 100), 100, 'cached free space is enough: tail not re-read');
  t.throws(() => producer.write(src, 0, 4000), { ...CORRUPT, message: /tail 1073741824/ }, 're-read when short');
  words[TAIL_INDEX] = 0;
  t.equal(consumer.read(new Uint8Array(10), 0, 10), 10);
  words[HEAD_INDEX] = 0x7fffffff;
  t.equal(consumer.read(new Uint8Array(10), 0, 10), 10, 'cached data is enough: head not re-read');
  t.throws(() => consumer.readable(), { ...CORRUPT, message: /head 2147483647/ });
});

t.test('counters wrap past 2^31 and 2^32', async (t) => {
  for (const start of [0x7ffffff0, 0x7fffffff, 0xfffffff0, 0xffffffff, 0x80000000]) {
    const r = makeRing(MIN_CAPACITY, start);
    const rng = prng(start);
    const src = bytes(1 << 16, 11);
    let written = 0;
    let read = 0;
    let bad = 0;
    const out = new Uint8Array(4096);
    const first = src[0]!;
    t.equal(r.producer.writable(), MIN_CAPACITY);
    t.equal(r.producer.write(src, 0, 1), 1);
    t.equal(r.data[start & (MIN_CAPACITY - 1)], first, 'first byte lands at start & mask');
    written = 1;
    while (read < src.length) {
      if (written < src.length) written += r.producer.write(src, written, Math.min(src.length, written + between(rng, 1, 3000)));
      const n = r.consumer.read(out, 0, between(rng, 1, 4096));
      for (let k = 0; k < n; k++) if (out[k] !== src[read + k]) bad++;
      read += n;
    }
    t.equal(bad, 0, `start ${start.toString(16)}: bytes intact`);
    t.equal(r.words[HEAD_INDEX], (start + src.length) | 0, 'head wrapped');
    t.equal(r.words[TAIL_INDEX], (start + src.length) | 0, 'tail wrapped');
    t.equal(r.consumer.readable(), 0);
    t.equal(r.producer.writable(), MIN_CAPACITY);
  }
});

t.test('new handles adopt the counters in shared memory', async (t) => {
  const r = makeRing(MIN_CAPACITY, 0xfffffff0);
  r.producer.write(bytes(100));
  r.consumer.read(new Uint8Array(30), 0, 30);
  const p2 = new RingProducer(r.sab, r.controlOffset, r.dataOffset, r.capacity);
  const c2 = new RingConsumer(r.sab, r.controlOffset, r.dataOffset, r.capacity);
  t.equal(c2.readable(), 70);
  t.equal(p2.writable(), MIN_CAPACITY - 70);
  t.equal(p2.write(bytes(5, 5)), 5);
  const got = c2.readBuffer(1000)!;
  t.same(got.subarray(0, 70), Buffer.from(bytes(100).subarray(30)));
  t.same(got.subarray(70), Buffer.from(bytes(5, 5)));
  r.words[FIN_INDEX] = 1;
  t.equal(new RingProducer(r.sab, r.controlOffset, r.dataOffset, r.capacity).ended, true);
  r.words[HEAD_INDEX] = 0x1000;
  r.words[TAIL_INDEX] = 0;
  t.ok(new RingConsumer(r.sab, r.controlOffset, r.dataOffset, r.capacity), 'exactly full is fine');
  r.words[HEAD_INDEX] = 0x1001;
  t.throws(() => new RingConsumer(r.sab, r.controlOffset, r.dataOffset, r.capacity), CORRUPT);
  t.throws(() => new RingProducer(r.sab, r.controlOffset, r.dataOffset, r.capacity), CORRUPT);
  r.words[HEAD_INDEX] = 0;
  r.words[FIN_INDEX] = 5;
  t.throws(() => new RingProducer(r.sab, r.controlOffset, r.dataOffset, r.capacity), { ...CORRUPT, message: /fin 5/ });
});

t.test('end of stream: finished only after the last byte is read', async (t) => {
  const { producer, consumer, words } = makeRing();
  t.equal(producer.write(bytes(100)), 100);
  t.equal(producer.ended, false);
  producer.end();
  t.equal(producer.ended, true);
  t.equal(words[FIN_INDEX], 1);
  producer.end();
  t.equal(words[FIN_INDEX], 1, 'end is idempotent');
  t.throws(() => producer.write(bytes(1)), { code: codes.CLOSED });
  t.equal(consumer.finished(), false, 'bytes still unread');
  t.equal(consumer.read(new Uint8Array(50), 0, 50), 50);
  t.equal(consumer.finished(), false, '50 still unread');
  t.equal(consumer.read(new Uint8Array(100), 0, 100), 50);
  t.equal(consumer.finished(), true);
  t.equal(consumer.finished(), true, 'stays finished');
  t.equal(consumer.readBuffer(10), null);

  const e = makeRing();
  t.equal(e.consumer.finished(), false);
  e.producer.end();
  t.equal(e.consumer.finished(), true, 'empty stream');
});

t.test('consumer park and producer wake', async (t) => {
  const { producer, consumer, words } = makeRing();
  t.equal(producer.consumerNeedsWake(), false, 'nobody parked');
  t.equal(consumer.park(), false, 'empty: park for real');
  t.equal(words[CONSUMER_PARKED_INDEX], 1);
  t.equal(producer.write(bytes(10)), 10);
  t.equal(producer.consumerNeedsWake(), true, 'parked consumer needs the doorbell');
  t.equal(words[CONSUMER_PARKED_INDEX], 0, 'flag cleared by the waker');
  t.equal(producer.consumerNeedsWake(), false, 'exactly once');
  t.equal(consumer.park(), true, 'data present: do not wait');
  t.equal(words[CONSUMER_PARKED_INDEX], 0, 'flag cleared by the consumer');
  t.equal(producer.consumerNeedsWake(), false);
  consumer.read(new Uint8Array(10), 0, 10);
  t.equal(consumer.park(), false);
  producer.end();
  t.equal(producer.consumerNeedsWake(), true, 'fin rings too');
  t.equal(consumer.park(), true, 'fin visible: do not wait');
  t.equal(consumer.finished(), true);
  // Any non-zero value counts as parked.
  words[CONSUMER_PARKED_INDEX] = 7;
  t.equal(producer.consumerNeedsWake(), true);
  t.equal(words[CONSUMER_PARKED_INDEX], 0);
});

t.test('producer park and consumer wake', async (t) => {
  const { producer, consumer, words } = makeRing();
  t.equal(producer.park(), true, 'space available: do not wait');
  t.equal(words[PRODUCER_PARKED_INDEX], 0);
  t.equal(producer.write(bytes(5000)), 4096);
  t.equal(producer.park(), false, 'full: park for real');
  t.equal(words[PRODUCER_PARKED_INDEX], 1);
  t.equal(consumer.producerNeedsWake(), true);
  t.equal(words[PRODUCER_PARKED_INDEX], 0);
  t.equal(consumer.producerNeedsWake(), false, 'exactly once');
  t.equal(producer.park(), false);
  t.equal(consumer.read(new Uint8Array(1), 0, 1), 1);
  t.equal(consumer.producerNeedsWake(), true);
  t.equal(producer.park(), true, 'one byte free');
  t.equal(consumer.producerNeedsWake(), false);
  words[PRODUCER_PARKED_INDEX] = -1;
  t.equal(consumer.producerNeedsWake(), true);
});

t.test('hostile control words are reported, never followed', async (t) => {
  let r = makeRing();
  r.words[HEAD_INDEX] = 4097;
  t.throws(() => r.consumer.readable(), { ...CORRUPT, message: /head 4097 leaves 4097 bytes/ });
  r = makeRing();
  r.words[HEAD_INDEX] = -1;
  t.throws(() => r.consumer.readBuffer(10), { ...CORRUPT, message: /head 4294967295/ });

  r = makeRing();
  r.producer.write(bytes(100));
  t.equal(r.consumer.readable(), 100);
  r.words[HEAD_INDEX] = 50;
  t.throws(() => r.consumer.readable(), { ...CORRUPT, message: /head 50 moved backwards from 100/ });

  r = makeRing();
  r.producer.write(bytes(100));
  r.words[TAIL_INDEX] = 101;
  t.throws(() => r.producer.writable(), { ...CORRUPT, message: /tail 101/ });
  r = makeRing(MIN_CAPACITY, 1000);
  r.producer.write(bytes(4000));
  r.consumer.read(new Uint8Array(500), 0, 500);
  t.equal(r.producer.writable(), 596);
  r.words[TAIL_INDEX] = 1200;
  t.throws(() => r.producer.writable(), { ...CORRUPT, message: /tail 1200 moved backwards from 1500/ });

  r = makeRing();
  // 2 is FIN_ABORTED (a reset, see below); anything else is corrupt.
  r.words[FIN_INDEX] = 3;
  t.throws(() => r.consumer.finished(), { ...CORRUPT, message: /fin 3/ });
  t.throws(() => r.consumer.park(), { ...CORRUPT, message: /fin 3/ });

  r = makeRing();
  r.producer.write(bytes(10));
  r.producer.end();
  t.equal(r.consumer.finished(), false);
  r.words[HEAD_INDEX] = 20; // more bytes after fin
  t.throws(() => r.consumer.read(new Uint8Array(100), 0, 100), { ...CORRUPT, message: /after end of stream/ });

  r = makeRing();
  r.producer.write(bytes(10));
  r.producer.end();
  t.equal(r.consumer.finished(), false);
  t.equal(r.consumer.read(new Uint8Array(10), 0, 10), 10);
  r.words[HEAD_INDEX] = 15;
  t.throws(() => r.consumer.finished(), { ...CORRUPT, message: /head moved from 10 to 15 after end/ }, 'checked at drain');

  r = makeRing();
  r.producer.end();
  t.equal(r.consumer.park(), true);
  r.words[FIN_INDEX] = 0;
  t.equal(r.consumer.finished(), false, 'fin not yet latched by finished()');
  r.words[FIN_INDEX] = 1;
  t.equal(r.consumer.finished(), true);
  r.words[FIN_INDEX] = 0;
  t.throws(() => r.consumer.finished(), { ...CORRUPT, message: /fin changed from 1 to 0/ });
});

t.test('fuzz: random control words give data or RING_CORRUPT, nothing else', async (t) => {
  const rng = prng(1234);
  const interesting = [0, 1, 2, -1, 4095, 4096, 4097, 0x7fffffff, -0x80000000, 0x40000000];
  const pick = () => ((rng() & 1) === 0 ? interesting[rng() % interesting.length]! : rng() | 0);
  const out = new Uint8Array(8192);
  const src = bytes(8192);
  let corrupt = 0;
  let ok = 0;
  const deadline = Date.now() + 1500;
  let i = 0;
  for (; i < 20000 && Date.now() < deadline; i++) {
    const r = makeRing();
    try {
      r.producer.write(src, 0, rng() % 5000);
      r.consumer.read(out, 0, rng() % 5000);
      for (let k = 0; k < 4; k++) {
        const idx = [HEAD_INDEX, TAIL_INDEX, FIN_INDEX, CONSUMER_PARKED_INDEX, PRODUCER_PARKED_INDEX][rng() % 5]!;
        r.words[idx] = pick();
        switch (rng() % 8) {
          case 0: r.producer.write(src, 0, rng() % 8192); break;
          case 1: r.consumer.read(out, rng() % 100, rng() % 8000); break;
          case 2: r.consumer.readBuffer(rng() % 9000); break;
          case 3: r.consumer.finished(); break;
          case 4: r.consumer.park(); r.producer.consumerNeedsWake(); break;
          case 5: r.producer.park(); r.consumer.producerNeedsWake(); break;
          case 6: r.producer.writable(); r.consumer.readable(); break;
          case 7: new RingConsumer(r.sab, r.controlOffset, r.dataOffset, r.capacity).readBuffer(9000); break;
        }
      }
      ok++;
    } catch (err) {
      if ((err as { code?: string }).code !== codes.RING_CORRUPT) {
        t.fail(`iteration ${i}: unexpected ${(err as Error).stack}`);
        return;
      }
      corrupt++;
    }
  }
  t.ok(corrupt > 100, `corruption detected (${corrupt} of ${i})`);
  t.ok(ok > 100, `benign runs completed (${ok} of ${i})`);
});

t.test('property: random writes and reads keep the byte sequence', async (t) => {
  for (const [seed, cap, start] of [[1, 4096, 0], [2, 8192, 0x7fffff00], [3, 65536, 0xffff0000], [4, 4096, 0xfffffffd]] as const) {
    const rng = prng(seed);
    const r = makeRing(cap, start);
    const total = 1 << 20;
    const stream = bytes(total, seed);
    const srcBuf = new Uint8Array(cap * 2 + 16);
    const dst = new Uint8Array(cap * 2 + 16);
    let written = 0;
    let read = 0;
    let bad = 0;
    let wraps = 0;
    let misaligned = 0;
    while (read < total) {
      if (written < total && (rng() & 3) !== 0) {
        // Copy into a scratch buffer at a random alignment, then write a random slice.
        const want = Math.min(between(rng, 1, cap + cap / 2), total - written);
        const at = rng() & 15;
        srcBuf.set(stream.subarray(written, written + want), at);
        const pos = (start + written) & (cap - 1);
        if (pos + want > cap) wraps++;
        if (((at - pos) & 7) !== 0 && want >= 128) misaligned++;
        written += r.producer.write(srcBuf, at, at + want);
      }
      const max = between(rng, 1, cap + 100);
      if ((rng() & 1) === 0) {
        const b = r.consumer.readBuffer(max);
        if (b) {
          if (b.length > max) bad++;
          for (let k = 0; k < b.length; k++) if (b[k] !== stream[read + k]) bad++;
          read += b.length;
        }
      } else {
        const off = rng() & 15;
        const n = r.consumer.read(dst, off, max);
        for (let k = 0; k < n; k++) if (dst[off + k] !== stream[read + k]) bad++;
        read += n;
      }
      if (read > written) bad++;
    }
    t.equal(bad, 0, `seed ${seed}, capacity ${cap}, start ${start.toString(16)}: ${total} bytes intact`);
    t.ok(wraps > 10, `wrapped ${wraps} times`);
    t.ok(misaligned > 10, `${misaligned} misaligned copies`);
    t.equal(r.words[HEAD_INDEX], (start + total) | 0);
  }
});

t.test('copies larger than the bounce buffer, misaligned both ways', async (t) => {
  const cap = 1 << 20;
  const r = makeRing(cap, 3);
  const src = bytes(300_000 + 5, 77);
  t.equal(r.producer.write(src, 5), 300_000);
  const dst = new Uint8Array(300_010);
  t.equal(r.consumer.read(dst, 2, 300_000), 300_000);
  t.same(dst.subarray(2, 300_002), src.subarray(5));
  t.equal(r.producer.write(src, 1), 300_004);
  const b = r.consumer.readBuffer(cap)!;
  t.equal(b.length, 300_004);
  t.ok(Buffer.from(src.subarray(1)).equals(b));
});

t.test('readBuffer returns buffers aligned like the ring position', async (t) => {
  const r = makeRing(65536);
  const src = bytes(60000);
  for (const skip of [1, 2, 3, 5, 8, 13]) {
    r.producer.write(src, 0, skip);
    r.consumer.readBuffer(skip);
    r.producer.write(src, 0, 1000);
    const pos = r.words[TAIL_INDEX]! & 65535;
    const b = r.consumer.readBuffer(1000)!;
    t.equal((b.byteOffset - (r.dataOffset + pos)) & 7, 0, `position ${pos}`);
    t.same(b, Buffer.from(src.subarray(0, 1000)));
  }
});

t.test('store order: bytes before head, copy-out before tail, fin after the last head', async (t) => {
  const { producer, consumer, words, data } = makeRing();
  const origStore = Atomics.store;
  const origLoad = Atomics.load;
  const origExchange = Atomics.exchange;
  const log: string[] = [];
  const problems: string[] = [];
  let expectedHeadBytes: Uint8Array | null = null;
  let lastHead = 0;
  let readTarget: Uint8Array | null = null;
  let readSource: Uint8Array | null = null;
  const ours = (arr: unknown) => arr instanceof Int32Array && arr.buffer === words.buffer && arr.byteOffset === words.byteOffset;
  const name = (i: number) =>
    ({ [HEAD_INDEX]: 'head', [TAIL_INDEX]: 'tail', [FIN_INDEX]: 'fin', [CONSUMER_PARKED_INDEX]: 'cParked', [PRODUCER_PARKED_INDEX]: 'pParked' })[i] ?? `w${i}`;
  Atomics.store = ((arr: Int32Array, i: number, v: number) => {
    if (ours(arr)) {
      log.push(`store ${name(i)}=${v}`);
      if (i === HEAD_INDEX && expectedHeadBytes) {
        // Everything up to the new head must already be in the data area.
        for (let k = 0; k < expectedHeadBytes.length; k++) {
          if (data[(lastHead + k) & 4095] !== expectedHeadBytes[k]) {
            problems.push(`byte ${lastHead + k} not in place when head=${v} was published`);
            break;
          }
        }
        lastHead = v;
      }
      if (i === TAIL_INDEX && readTarget && readSource) {
        // The bytes must have been copied out before tail frees their space.
        if (!Buffer.from(readTarget).equals(Buffer.from(readSource))) problems.push(`tail=${v} stored before the copy-out`);
      }
    }
    return origStore(arr, i, v);
  }) as typeof Atomics.store;
  Atomics.load = ((arr: Int32Array, i: number) => {
    if (ours(arr)) log.push(`load ${name(i)}`);
    return origLoad(arr, i);
  }) as typeof Atomics.load;
  Atomics.exchange = ((arr: Int32Array, i: number, v: number) => {
    if (ours(arr)) log.push(`exchange ${name(i)}=${v}`);
    return origExchange(arr, i, v);
  }) as typeof Atomics.exchange;
  try {
    // Consumer parks: flag store strictly before the re-check loads.
    log.length = 0;
    t.equal(consumer.park(), false);
    t.same(log, ['store cParked=1', 'load head', 'load fin'], 'consumer: store flag, then re-check head and fin');

    // Producer publishes with one head store (across the wrap), then checks the flag.
    for (const [n, seed] of [[3000, 1], [2000, 2], [96, 3]] as const) {
      const src = bytes(n, seed);
      expectedHeadBytes = src;
      log.length = 0;
      t.equal(producer.write(src), n);
      t.same(log.filter((l) => l.startsWith('store')), [`store head=${lastHead}`], 'exactly one store per write: head');
      const target = new Uint8Array(n);
      readTarget = target;
      readSource = src;
      log.length = 0;
      t.equal(consumer.read(target, 0, n), n);
      t.same(log.filter((l) => l.startsWith('store')), [`store tail=${lastHead}`], 'exactly one store per read: tail');
      readTarget = null;
    }
    log.length = 0;
    producer.consumerNeedsWake();
    t.same(log, ['load cParked', 'exchange cParked=0'], 'producer: load flag after publishing');

    // Producer parks: flag store, then tail re-check.
    expectedHeadBytes = bytes(4096);
    producer.write(expectedHeadBytes);
    log.length = 0;
    t.equal(producer.park(), false);
    t.same(log, ['store pParked=1', 'load tail']);
    log.length = 0;
    readTarget = null;
    consumer.readBuffer(10);
    consumer.producerNeedsWake();
    t.same(log, ['load head', `store tail=${5096 + 10}`, 'load pParked', 'exchange pParked=0'], 'consumer: store tail, then load flag');

    // fin comes after the last head, and finished() loads fin before head.
    expectedHeadBytes = bytes(5, 9);
    log.length = 0;
    producer.write(expectedHeadBytes);
    producer.end();
    t.same(log, ['load tail', `store head=${lastHead}`, 'store fin=1'], 'fin stored after the last head');
    consumer.read(new Uint8Array(8192), 0, 8192);
    log.length = 0;
    consumer.finished();
    t.same(log.slice(0, 2), ['load fin', 'load head'], 'consumer loads fin before head');
  } finally {
    Atomics.store = origStore;
    Atomics.load = origLoad;
    Atomics.exchange = origExchange;
  }
  t.same(problems, [], 'no store published too early');
});

t.test('abort(): the consumer sees a reset, never an orderly end, also after end()', async (t) => {
  for (const endFirst of [false, true]) {
    const { producer, consumer, words } = makeRing();
    producer.write(Buffer.from('unread'));
    if (endFirst) producer.end();
    t.equal(consumer.aborted(), false);
    producer.abort();
    t.equal(words[FIN_INDEX], FIN_ABORTED, 'the fin word says aborted');
    t.equal(consumer.aborted(), true);
    t.equal(consumer.endPublished(), false, 'not an orderly end');
    t.equal(consumer.finished(), false);
    t.equal(producer.ended, true, 'nothing more is written after an abort');
  }
});
