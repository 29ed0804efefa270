import t from 'tap';
import { mapAnonymous, codes } from '../../src/index.js';

t.test('readAt / writeAt bounds', async (t) => {
  const r = mapAnonymous(4096);
  t.equal(r.kind, 'anonymous');
  t.equal(r.writeAt(Buffer.from('abc'), 4093), 3);
  const out = Buffer.alloc(10);
  t.equal(r.readAt(out, 4093), 3, 'short read at the end, like io.ReaderAt');
  t.equal(out.subarray(0, 3).toString(), 'abc');
  t.equal(r.readAt(out, 4096), 0, 'reading at the end returns 0');
  t.throws(() => r.readAt(out, 4097), { code: codes.OUT_OF_RANGE, name: 'RangeError' });
  t.throws(() => r.readAt(out, -1), { code: codes.OUT_OF_RANGE });
  t.throws(() => r.writeAt(Buffer.alloc(4), 4093), { code: codes.OUT_OF_RANGE }, 'a write that does not fit writes nothing');
  t.equal(r.bytes[4093], 'a'.charCodeAt(0));
  t.throws(() => r.writeAt(Buffer.alloc(1), 1.5), { code: codes.INVALID_ARG });
  t.throws(() => r.writeAt('x' as never, 0), { code: codes.INVALID_ARG });
  t.throws(() => r.readAt(null as never, 0), { code: codes.INVALID_ARG });
  t.throws(() => r.readAt(Buffer.alloc(1), Number.NaN), { code: codes.INVALID_ARG });
  r.close();
});

t.test('cursor: read, write, seek', async (t) => {
  const r = mapAnonymous(100);
  t.equal(r.position, 0);
  t.equal(r.write(Buffer.from('0123456789')), 10);
  t.equal(r.position, 10);
  t.equal(r.seek(2), 2);
  const b = Buffer.alloc(3);
  t.equal(r.read(b), 3);
  t.equal(b.toString(), '234');
  t.equal(r.seek(1, 'current'), 6);
  t.equal(r.seek(-4, 'end'), 96);
  t.equal(r.seek(0, 2), 100);
  t.equal(r.read(b), 0, 'EOF');
  t.equal(r.seek(150), 150, 'seeking past the end is allowed');
  t.throws(() => r.read(b), { code: codes.OUT_OF_RANGE });
  t.throws(() => r.seek(-1), { code: codes.OUT_OF_RANGE });
  t.throws(() => r.seek(0, 'middle' as never), { code: codes.INVALID_ARG });
  r.close();
});

t.test('64-bit accessors', async (t) => {
  const r = mapAnonymous(64);
  r.writeUint64At(8, 0x0102030405060708n);
  t.equal(r.readUint64At(8), 0x0102030405060708n);
  t.equal(r.bytes[8], 0x08, 'little-endian');
  r.writeUint64At(56, 2n ** 64n - 1n);
  t.equal(r.readUint64At(56), 2n ** 64n - 1n);
  t.throws(() => r.readUint64At(57), { code: codes.OUT_OF_RANGE });
  t.throws(() => r.writeUint64At(57, 1n), { code: codes.OUT_OF_RANGE });
  t.throws(() => r.writeUint64At(0, -1n), { code: codes.OUT_OF_RANGE });
  t.throws(() => r.writeUint64At(0, 2n ** 64n), { code: codes.OUT_OF_RANGE });
  t.throws(() => r.writeUint64At(0, 1 as never), { code: codes.INVALID_ARG });
  r.close();
});

t.test('advise, lock, flush', async (t) => {
  const r = mapAnonymous(1 << 20);
  for (const a of ['normal', 'sequential', 'random', 'willneed', 'hugepage', 'nohugepage', 'dontneed'] as const) {
    r.advise(a);
  }
  r.advise('willneed', { offset: 5000, length: 10 });
  t.throws(() => r.advise('bogus' as never), { code: codes.INVALID_ARG });
  t.throws(() => r.advise('normal', { offset: 0, length: (1 << 20) + 1 }), { code: codes.OUT_OF_RANGE });
  r.lock();
  r.unlock();
  r.flush();
  t.throws(() => r.flush({ offset: -1 }), { code: codes.OUT_OF_RANGE });
  r.close();
  t.throws(() => r.lock(), { code: codes.CLOSED });
});

t.test('mapAnonymous arguments and huge pages', async (t) => {
  t.throws(() => mapAnonymous(0), { code: codes.OUT_OF_RANGE });
  t.throws(() => mapAnonymous('1' as never), { code: codes.INVALID_ARG });
  const r = mapAnonymous(2 * 1024 * 1024, { hugePages: true });
  t.type(r.huge, 'boolean', 'reports whether huge pages were used');
  r.bytes.fill(1);
  t.equal(r.bytes[r.size - 1], 1);
  r.close();
});
