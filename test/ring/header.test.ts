import t from 'tap';
import { randomBytes } from 'node:crypto';
import { codes } from '../../src/errors.js';
import { readHeader, regionSize, ringOffsets, validateHeader, writeHeader } from '../../src/ring/header.js';
import {
  CAPACITY_OFFSET,
  CREATOR_PID_OFFSET,
  HEADER_SIZE,
  MAGIC_OFFSET,
  MAX_CAPACITY,
  MIN_CAPACITY,
  REGION_SIZE_OFFSET,
  RING0_START_OFFSET,
  RING1_START_OFFSET,
  RING_C2S,
  RING_S2C,
  TOKEN_OFFSET,
  VERSION_OFFSET,
} from '../../src/ring/layout.js';

const CORRUPT = { code: codes.RING_CORRUPT };

t.test('regionSize and ringOffsets', async (t) => {
  t.equal(regionSize(4096), 4096 + 2 * (512 + 4096));
  t.equal(regionSize(1 << 20), 4096 + 2 * (512 + (1 << 20)));
  t.equal(regionSize(MAX_CAPACITY), 4096 + 1024 + 2 ** 31);
  const [c2s, s2c] = ringOffsets(65536);
  t.same(c2s, { controlOffset: 4096, dataOffset: 4608, capacity: 65536 });
  t.same(s2c, { controlOffset: 4608 + 65536, dataOffset: 4608 + 65536 + 512, capacity: 65536 });
  t.equal(ringOffsets(65536)[RING_C2S]!.controlOffset, HEADER_SIZE);
  t.equal(s2c!.dataOffset + 65536, regionSize(65536), 'ring 1 ends at the end of the region');
});

t.test('bad capacities are caller errors', async (t) => {
  for (const cap of [0, 2048, MIN_CAPACITY - 1, MIN_CAPACITY + 1, 6000, MAX_CAPACITY * 2, 4096.5, -4096, NaN]) {
    t.throws(() => regionSize(cap), { code: codes.OUT_OF_RANGE }, `capacity ${cap}`);
    t.throws(() => ringOffsets(cap), { code: codes.OUT_OF_RANGE }, `capacity ${cap}`);
  }
  t.throws(() => regionSize('4096' as unknown as number), { code: codes.INVALID_ARG });
  t.throws(() => regionSize(6000), /6000/, 'message names the value');
});

function fresh(capacity = MIN_CAPACITY, extra = 0) {
  const token = randomBytes(16);
  const sab = new SharedArrayBuffer(regionSize(capacity) + extra);
  writeHeader(sab, { capacity, creatorPid: 4242, token });
  return { sab, token, view: new DataView(sab), size: regionSize(capacity), capacity };
}

t.test('write then read round-trips every field', async (t) => {
  const { sab, token, size } = fresh(8192);
  const h = readHeader(sab);
  t.equal(h.version, 1);
  t.equal(h.size, size);
  t.equal(h.capacity, 8192);
  t.equal(h.creatorPid, 4242);
  t.same(Buffer.from(h.token), token);
  t.same(h.rings, ringOffsets(8192));
  t.equal(h.rings[RING_S2C]!.controlOffset, 4096 + 512 + 8192);
  // Little-endian on the wire, magic readable as 'SHMN' backwards.
  const v = new DataView(sab);
  t.equal(v.getUint32(MAGIC_OFFSET, true), 0x53484d4e);
  t.equal(v.getUint32(CAPACITY_OFFSET, true), 8192);
  // The token is a copy, not a view of the region.
  h.token[0] = h.token[0]! ^ 0xff;
  t.equal(new Uint8Array(sab, TOKEN_OFFSET, 1)[0], token[0]);
});

t.test('writeHeader zeroes stale header bytes and leaves the rings alone', async (t) => {
  const sab = new SharedArrayBuffer(regionSize(4096));
  new Uint8Array(sab).fill(0xaa);
  writeHeader(sab, { capacity: 4096, creatorPid: 1, token: new Uint8Array(16) });
  t.equal(new Uint8Array(sab)[100], 0);
  t.equal(new Uint8Array(sab)[HEADER_SIZE - 1], 0);
  t.equal(new Uint8Array(sab)[HEADER_SIZE], 0xaa);
});

t.test('writeHeader rejects caller mistakes', async (t) => {
  const sab = new SharedArrayBuffer(regionSize(4096));
  const token = new Uint8Array(16);
  t.throws(() => writeHeader(sab, { capacity: 8192, creatorPid: 1, token }), { code: codes.OUT_OF_RANGE });
  t.throws(() => writeHeader(sab, { capacity: 4096, creatorPid: -1, token }), { code: codes.OUT_OF_RANGE });
  t.throws(() => writeHeader(sab, { capacity: 4096, creatorPid: 1, token: new Uint8Array(15) }), { code: codes.INVALID_ARG });
  t.throws(() => writeHeader({} as SharedArrayBuffer, { capacity: 4096, creatorPid: 1, token }), { code: codes.INVALID_ARG });
});

t.test('validateHeader accepts the promised region', async (t) => {
  const { sab, token, size, capacity } = fresh();
  const h = validateHeader(sab, { size, capacity, token });
  t.equal(h.capacity, capacity);
  // A mapping rounded up past the region size is fine.
  const big = fresh(4096, 8192);
  t.equal(validateHeader(big.sab, { size: big.size, capacity: 4096, token: big.token }).size, big.size);
});

t.test('validateHeader rejects a region other than the promised one', async (t) => {
  const { sab, token, size, capacity } = fresh();
  t.throws(() => validateHeader(sab, { size: size + 4096, capacity, token }), { ...CORRUPT, message: /region size 13312 \(expected 17408\)/ });
  t.throws(() => validateHeader(sab, { size, capacity: 8192, token }), { ...CORRUPT, message: /capacity 4096 \(expected 8192\)/ });
  const other = Buffer.from(token);
  other[15] = other[15]! ^ 1;
  t.throws(() => validateHeader(sab, { size, capacity, token: other }), { ...CORRUPT, message: /token/ });
  t.throws(() => validateHeader(sab, { size, capacity, token: new Uint8Array(3) }), { code: codes.INVALID_ARG });
});

t.test('readHeader reports each impossible field by value', async (t) => {
  const cases: Array<[string, number, number, RegExp]> = [
    ['magic', MAGIC_OFFSET, 0x12345678, /magic 0x12345678/],
    ['version', VERSION_OFFSET, 7, /version 7/],
    ['capacity not a power of two', CAPACITY_OFFSET, 5000, /capacity 5000/],
    ['capacity too small', CAPACITY_OFFSET, 2048, /capacity 2048/],
    ['capacity too large', CAPACITY_OFFSET, 2 ** 31, /capacity 2147483648/],
    ['size', REGION_SIZE_OFFSET, 99999, /size 99999/],
    ['ring 0 offset', RING0_START_OFFSET, 0, /ring 0 offset 0/],
    ['ring 1 offset', RING1_START_OFFSET, 0xffffffff, /ring 1 offset 4294967295/],
  ];
  for (const [name, off, value, message] of cases) {
    const { sab } = fresh();
    new DataView(sab).setUint32(off, value, true);
    t.throws(() => readHeader(sab), { ...CORRUPT, message }, name);
  }
  // Pid is informational: any value reads back.
  const { sab } = fresh();
  new DataView(sab).setUint32(CREATOR_PID_OFFSET, 0xffffffff, true);
  t.equal(readHeader(sab).creatorPid, 0xffffffff);
});

t.test('readHeader never trusts sizes beyond the real buffer', async (t) => {
  t.throws(() => readHeader(new SharedArrayBuffer(100)), { ...CORRUPT, message: /100 bytes/ });
  // A consistent header for a large capacity in a buffer that is too small.
  const sab = new SharedArrayBuffer(regionSize(4096));
  const v = new DataView(sab);
  writeHeader(sab, { capacity: 4096, creatorPid: 1, token: new Uint8Array(16) });
  const [, r1] = ringOffsets(1 << 20);
  v.setUint32(CAPACITY_OFFSET, 1 << 20, true);
  v.setUint32(REGION_SIZE_OFFSET, regionSize(1 << 20), true);
  v.setUint32(RING1_START_OFFSET, r1!.controlOffset, true);
  t.throws(() => readHeader(sab), { ...CORRUPT, message: new RegExp(`${regionSize(1 << 20)}.*${sab.byteLength} bytes`) });
  // A truncated mapping of a correct header.
  const full = fresh(8192);
  const cut = new SharedArrayBuffer(full.size - 1);
  new Uint8Array(cut).set(new Uint8Array(full.sab, 0, cut.byteLength));
  t.throws(() => readHeader(cut), CORRUPT);
});
