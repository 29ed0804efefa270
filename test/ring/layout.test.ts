import t from 'tap';
import * as L from '../../src/ring/layout.js';

t.test('region header fields fit the header and do not overlap', async (t) => {
  const fields: Array<[string, number, number]> = [
    ['magic', L.MAGIC_OFFSET, 4],
    ['version', L.VERSION_OFFSET, 4],
    ['size', L.REGION_SIZE_OFFSET, 4],
    ['capacity', L.CAPACITY_OFFSET, 4],
    ['ring0', L.RING0_START_OFFSET, 4],
    ['ring1', L.RING1_START_OFFSET, 4],
    ['pid', L.CREATOR_PID_OFFSET, 4],
    ['reserved', L.RESERVED_OFFSET, 4],
    ['token', L.TOKEN_OFFSET, L.TOKEN_LENGTH],
  ];
  fields.sort((a, b) => a[1] - b[1]);
  for (let i = 0; i < fields.length; i++) {
    const [name, off, len] = fields[i]!;
    t.equal(off % 4, 0, `${name} is 4-byte aligned`);
    if (i > 0) {
      const [prev, poff, plen] = fields[i - 1]!;
      t.ok(poff + plen <= off, `${prev} ends before ${name}`);
    }
    t.ok(off + len <= L.HEADER_FIELDS_END, `${name} ends within the fields`);
  }
  t.equal(L.HEADER_FIELDS_END, 48);
  t.ok(L.HEADER_FIELDS_END <= L.HEADER_SIZE);
  t.equal(L.HEADER_SIZE, 4096);
  t.equal(L.REGION_MAGIC, 0x53484d4e);
  t.equal(Buffer.from('SHMN').readUInt32BE(0), L.REGION_MAGIC, "magic spells 'SHMN'");
  t.equal(L.LAYOUT_VERSION, 1);
  t.equal(L.TOKEN_LENGTH, 16);
});

t.test('ring ids', async (t) => {
  t.equal(L.RING_C2S, 0);
  t.equal(L.RING_S2C, 1);
  t.equal(L.RING_COUNT, 2);
});

t.test('each hot control word sits alone in its own 128-byte block', async (t) => {
  t.equal(L.CACHE_BLOCK_SIZE, 128);
  t.equal(L.RING_CONTROL_SIZE, 512);
  t.equal(L.RING_CONTROL_WORDS * 4, L.RING_CONTROL_SIZE);
  t.equal(L.RING_DATA_OFFSET, L.RING_CONTROL_SIZE);
  const block = (off: number) => Math.floor(off / L.CACHE_BLOCK_SIZE);
  t.equal(block(L.HEAD_OFFSET), 0);
  t.equal(block(L.FIN_OFFSET), 0, 'fin shares the producer-owned block with head');
  t.equal(block(L.TAIL_OFFSET), 1);
  t.equal(block(L.CONSUMER_PARKED_OFFSET), 2);
  t.equal(block(L.PRODUCER_PARKED_OFFSET), 3);
  t.not(L.HEAD_OFFSET, L.FIN_OFFSET);
  for (const off of [L.HEAD_OFFSET, L.FIN_OFFSET, L.TAIL_OFFSET, L.CONSUMER_PARKED_OFFSET, L.PRODUCER_PARKED_OFFSET]) {
    t.equal(off % 4, 0);
    t.ok(off + 4 <= L.RING_CONTROL_SIZE);
  }
});

t.test('indices are the offsets in Int32 words', async (t) => {
  t.equal(L.HEAD_INDEX, 0);
  t.equal(L.FIN_INDEX, 1);
  t.equal(L.TAIL_INDEX, 32);
  t.equal(L.CONSUMER_PARKED_INDEX, 64);
  t.equal(L.PRODUCER_PARKED_INDEX, 96);
  t.equal(L.HEAD_INDEX * 4, L.HEAD_OFFSET);
  t.equal(L.FIN_INDEX * 4, L.FIN_OFFSET);
  t.equal(L.TAIL_INDEX * 4, L.TAIL_OFFSET);
  t.equal(L.CONSUMER_PARKED_INDEX * 4, L.CONSUMER_PARKED_OFFSET);
  t.equal(L.PRODUCER_PARKED_INDEX * 4, L.PRODUCER_PARKED_OFFSET);
});

t.test('capacity bounds keep 32-bit counters and sizes sound', async (t) => {
  t.equal(L.MIN_CAPACITY, 4096);
  t.equal(L.MAX_CAPACITY, 2 ** 30);
  t.equal(L.MIN_CAPACITY & (L.MIN_CAPACITY - 1), 0);
  t.equal(L.MAX_CAPACITY & (L.MAX_CAPACITY - 1), 0);
  // The largest region still fits the header's uint32 size field.
  t.ok(L.HEADER_SIZE + 2 * (L.RING_CONTROL_SIZE + L.MAX_CAPACITY) < 2 ** 32);
});
