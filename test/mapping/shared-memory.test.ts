import t from 'tap';
import * as native from '../../src/native.js';
import { MappedRegion } from '../../src/mapping/region.js';
import { SharedMemory, sharedRegion } from '../../src/mapping/shared-memory.js';
import { mapAnonymous, codes } from '../../src/index.js';

function anonymous(size: number) {
  return native.mapAnonymous(size, 0);
}

t.test('sharedRegion: one MappedRegion over SharedMemory, named by its options', async (t) => {
  const r = sharedRegion('sysv', anonymous(8192), 5000, { id: 42 });
  t.ok(r instanceof MappedRegion);
  t.equal(r.kind, 'sysv');
  t.equal(r.id, 42);
  t.equal(r.name, undefined);
  t.equal(r.size, 5000);
  t.equal(r.bytes.length, 5000, 'bytes covers the region, not the whole mapping');
  t.equal(r.byteOffset, 0);
  t.equal(r.windowOffset, 0);
  t.notOk(r.windowed);
  t.equal(r.windowSize, 5000);
  t.notOk(r.readOnly, 'shared memory is mapped read-write');
  t.equal(r.sync, 'never');
  t.equal(r.syncInterval, 0);
  r.close();
});

t.test('the plain copy and the guarded copy read and write the same bytes', async (t) => {
  for (const kind of ['anonymous', 'shm'] as const) {
    const r = sharedRegion(kind, anonymous(4096), 4096);
    r.writeAt(Buffer.from('hello'), 4000);
    r.writeUint64At(8, 0x0102030405060708n);
    const out = Buffer.alloc(5);
    t.equal(r.readAt(out, 4000), 5, kind);
    t.equal(out.toString(), 'hello', kind);
    t.equal(r.readUint64At(8), 0x0102030405060708n, kind);
    t.equal(r.bytes.readBigUInt64LE(8), 0x0102030405060708n, `${kind}: little-endian in the mapping`);
    r.close();
  }
});

t.test('pages: whole pages holding the range, the whole region by default', async (t) => {
  const size = native.pageSize * 3;
  const m = new SharedMemory('anonymous', anonymous(size), size);
  const [buffer, start, length] = m.pages(null);
  t.equal(buffer, m.rawBuffer());
  t.same([start, length], [0, size]);
  const from = native.pageSize + 10;
  const [, s2, l2] = m.pages([from, from + 5]);
  t.equal(s2, native.pageSize, 'starts on the page boundary below the range');
  t.equal(l2, 15, 'covers up to the end of the range');
});

t.test('flush, remap and moveTo on memory mapped once', async (t) => {
  const anon = mapAnonymous(4096);
  anon.flush();
  anon.flush({ offset: 10, length: 100, async: true });
  t.throws(() => anon.remap(), { code: codes.UNSUPPORTED, message: /not anonymous/ });
  t.equal(anon.seek(100), 100, 'seeking moves nothing but the cursor');
  anon.close();
  const shm = sharedRegion('shm', anonymous(4096), 4096);
  t.throws(() => shm.remap(), { code: codes.UNSUPPORTED, message: /not shm/ });
  shm.close();
});

t.test('close drops the memory: the region lets the mapping go, old views stay usable', async (t) => {
  const m = new SharedMemory('anonymous', anonymous(4096), 4096);
  const r = new MappedRegion(m);
  const kept = r.bytes;
  kept[0] = 7;
  r.close();
  t.equal(m.rawBuffer().byteLength, 0, 'the region holds no reference to the mapping any more');
  t.equal(m.rawBytes().length, 0);
  t.equal(kept[0], 7, 'a view kept past close() still points at live memory');
  t.throws(() => r.bytes, { code: codes.CLOSED });
  t.throws(() => r.readAt(Buffer.alloc(1), 0), { code: codes.CLOSED });
});
