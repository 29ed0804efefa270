/**
 * The receive pool: slices of one slab, aligned with the ring, never
 * overlapping and never rewritten; a new slab when the old one runs low;
 * the same bytes as the one-allocation-per-read path.
 */
import t from 'tap';
import { regionSize, ringOffsets } from '../../src/ring/header.js';
import { RING_S2C } from '../../src/ring/layout.js';
import { initRing, RingConsumer, RingProducer } from '../../src/ring/ring.js';
import { readForPush, readPooled, setReceiveAllocation, SLAB_SIZE } from '../../src/stream/receive-pool.js';
import { fillRandom, prng } from '../fixtures/ring-prng.js';

function ring(capacity: number): { producer: RingProducer; consumer: RingConsumer; dataOffset: number } {
  const sab = new SharedArrayBuffer(regionSize(capacity));
  const { controlOffset, dataOffset } = ringOffsets(capacity)[RING_S2C]!;
  initRing(sab, controlOffset);
  return { producer: new RingProducer(sab, controlOffset, dataOffset, capacity), consumer: new RingConsumer(sab, controlOffset, dataOffset, capacity), dataOffset };
}

t.test('slices are aligned with the ring, disjoint, kept intact, and hold the bytes in order', async (t) => {
  const { producer, consumer } = ring(64 * 1024);
  const rnd = prng(7);
  const source = new Uint8Array(3 * SLAB_SIZE);
  fillRandom(rnd, source);
  const slices: Buffer[] = [];
  let written = 0;
  let misaligned = 0;
  while (written < source.length) {
    written += producer.write(source, written, Math.min(source.length, written + 1 + Math.floor(rnd() * 20_000)));
    for (;;) {
      const phase = consumer.readPhase();
      const b = readPooled(consumer, 1 + Math.floor(rnd() * 70_000));
      if (b === null) break;
      if ((b.byteOffset & 7) !== phase) misaligned++;
      slices.push(b);
    }
  }
  t.equal(misaligned, 0, 'every slice starts at its ring position mod 8');
  t.ok(Buffer.concat(slices).equals(source), 'the slices hold every byte in order, none overwritten later');
  const slabs = new Set(slices.map((s) => s.buffer));
  t.ok(slabs.size >= 3, `more than one slab was used (${slabs.size})`);
  for (const s of slabs) t.equal(s.byteLength, SLAB_SIZE, 'a slice pins one slab of SLAB_SIZE bytes');
  const bySlab = new Map<ArrayBufferLike, Buffer[]>();
  for (const s of slices) (bySlab.get(s.buffer) ?? bySlab.set(s.buffer, []).get(s.buffer)!).push(s);
  let overlaps = 0;
  for (const list of bySlab.values()) {
    for (let i = 1; i < list.length; i++) if (list[i]!.byteOffset < list[i - 1]!.byteOffset + list[i - 1]!.length) overlaps++;
  }
  t.equal(overlaps, 0, 'slices of one slab never overlap');
});

t.test('a slab cannot be transferred away from the chunks in it', async (t) => {
  const { producer, consumer } = ring(4096);
  producer.write(Buffer.alloc(200, 3));
  const a = readPooled(consumer, 100)!;
  const b = readPooled(consumer, 100)!;
  t.equal(a.buffer, b.buffer, 'two chunks of one slab');
  // As with Node's own Buffer pool: Node 20 copies an untransferable buffer
  // named in a transfer list, Node 22 and later refuse with DataCloneError.
  // Either way the slab stays where it is.
  try {
    structuredClone(a, { transfer: [a.buffer as ArrayBuffer] });
  } catch (err) {
    t.equal((err as Error).name, 'DataCloneError', 'the transfer is refused');
  }
  t.equal(a.length, 100, 'the chunk named is not detached');
  t.equal(b.length, 100, 'the other chunk is not detached');
  t.ok(b.every((x) => x === 3));
});

t.test('an empty ring gives null and uses no room', async (t) => {
  const { consumer } = ring(4096);
  t.equal(readPooled(consumer, 100), null);
});

t.test("readForPush follows the allocation chosen: 'fresh' gives a Buffer of its own", async (t) => {
  const { producer, consumer } = ring(4096);
  producer.write(Buffer.alloc(1000, 1));
  setReceiveAllocation('fresh');
  const fresh = readForPush(consumer, 500)!;
  setReceiveAllocation('pool');
  const pooled = readForPush(consumer, 500)!;
  t.equal(fresh.length, 500);
  t.equal(pooled.length, 500);
  t.ok(fresh.buffer.byteLength < SLAB_SIZE, 'not a slab');
  t.equal(pooled.buffer.byteLength, SLAB_SIZE, 'a slab slice');
});
