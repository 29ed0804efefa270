import t from 'tap';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapFile, codes } from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'shmnet-file-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

t.test("'rw' + flush puts the bytes in the file", async (t) => {
  const p = file('rw.bin', Buffer.alloc(10000, 0x61));
  const r = mapFile(p, { mode: 'rw' });
  t.equal(r.size, 10000);
  t.equal(r.kind, 'file');
  r.writeAt(Buffer.from('HELLO'), 9000);
  r.flush();
  r.flush({ async: true, offset: 9000, length: 5 });
  t.equal(readFileSync(p).subarray(9000, 9005).toString(), 'HELLO');
  r.close();
  t.equal(readFileSync(p).length, 10000);
});

t.test("'cow' writes never reach the file", async (t) => {
  const p = file('cow.bin', Buffer.alloc(5000, 0x62));
  const r = mapFile(p, { mode: 'cow' });
  r.writeAt(Buffer.from('PRIVATE'), 0);
  r.flush();
  const back = Buffer.alloc(7);
  r.readAt(back, 0);
  t.equal(back.toString(), 'PRIVATE', 'the mapping sees its own write');
  t.equal(readFileSync(p).subarray(0, 7).toString(), 'bbbbbbb', 'the file does not');
  r.close();
});

t.test("'r' rejects writes and stray writes through bytes stay private", async (t) => {
  const p = file('r.bin', Buffer.from('read only content'));
  const r = mapFile(p);
  t.equal(r.readOnly, true);
  t.throws(() => r.writeAt(Buffer.from('x'), 0), { code: codes.READ_ONLY });
  t.throws(() => r.write(Buffer.from('x')), { code: codes.READ_ONLY });
  t.throws(() => r.writeUint64At(0, 1n), { code: codes.READ_ONLY });
  r.bytes[0] = 0x52; // no crash: the mapping is copy-on-write
  t.equal(readFileSync(p).toString(), 'read only content');
  r.close();
});

t.test('unaligned offsets expose only the requested window', async (t) => {
  const content = Buffer.alloc(20000);
  for (let i = 0; i < content.length; i++) content[i] = i % 251;
  const p = file('window.bin', content);
  const r = mapFile(p, { offset: 4097, length: 1000, mode: 'rw' });
  t.equal(r.size, 1000);
  t.equal(r.bytes.length, 1000);
  t.equal(r.bytes[0], 4097 % 251);
  t.equal(r.byteOffset, 1, 'the window starts one byte into the page');
  r.writeAt(Buffer.from([0xff]), 999);
  r.flush({ offset: 999, length: 1 });
  t.equal(readFileSync(p)[4097 + 999], 0xff);
  t.throws(() => r.readAt(Buffer.alloc(1), 1001), { code: codes.OUT_OF_RANGE });
  const tail = mapFile(p, { offset: 19999 });
  t.equal(tail.size, 1);
  tail.close();
  r.close();
});

t.test('populate is accepted and reported', async (t) => {
  const p = file('pop.bin', Buffer.alloc(65536, 1));
  const r = mapFile(p, { populate: true });
  // Linux: MADV_POPULATE_READ (5.14+) or MADV_WILLNEED; macOS, Windows: read-ahead advice.
  t.ok(process.platform === 'linux' ? r.preload !== 'none' : r.preload === 'willneed', `preload: ${r.preload}`);
  t.equal(r.populated, r.preload === 'populate');
  r.close();
});

t.test('errors', async (t) => {
  const p = file('err.bin', Buffer.alloc(100));
  t.throws(() => mapFile(join(dir, 'missing')), { code: codes.NOT_FOUND });
  t.throws(() => mapFile(''), { code: codes.INVALID_ARG });
  t.throws(() => mapFile(p, { mode: 'x' as never }), { code: codes.INVALID_ARG });
  t.throws(() => mapFile(p, { offset: 100 }), { code: codes.OUT_OF_RANGE });
  t.throws(() => mapFile(p, { offset: 50, length: 51 }), { code: codes.OUT_OF_RANGE }, 'never maps past the end of the file');
  t.throws(() => mapFile(p, { length: 0 }), { code: codes.OUT_OF_RANGE });
  t.throws(() => mapFile(file('empty.bin', Buffer.alloc(0))), { code: codes.OUT_OF_RANGE });
  let dirErr: any;
  try {
    mapFile(dir);
  } catch (e) {
    dirErr = e;
  }
  t.match(dirErr?.code, /^SHMNET_ERR_/, 'mapping a directory is a coded error');
});

t.test('close detaches at once', async (t) => {
  const p = file('close.bin', Buffer.alloc(8192, 3));
  const r = mapFile(p, { mode: 'rw' });
  const view = r.bytes;
  const buf = r.buffer;
  r.close();
  t.equal(view.length, 0, 'old views are emptied, never dangling');
  t.equal((buf as ArrayBuffer).byteLength, 0);
  t.throws(() => r.readAt(Buffer.alloc(1), 0), { code: codes.CLOSED });
});
