/**
 * Windowed mapping: a region larger than one mapping (or than a Node 20
 * Buffer) read and written through a sliding window.
 */
import t from 'tap';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants as bufferConstants } from 'node:buffer';
import { mapFile, codes, DEFAULT_WINDOW_SIZE, WINDOW_THRESHOLD } from '../../src/index.js';
import { mappingsOf, rssKiB, smapsAvailable } from '../fixtures/mapping-smaps.js';

const dir = mkdtempSync(join(tmpdir(), 'shmnet-window-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

function pread(p: string, offset: number, length: number): Buffer {
  const fd = openSync(p, 'r');
  const b = Buffer.alloc(length);
  readSync(fd, b, 0, length, offset);
  closeSync(fd);
  return b;
}

t.test('6 GiB sparse file through a 256 MiB window', async (t) => {
  const SIZE = 6 * GiB;
  const WINDOW = 256 * MiB;
  const p = join(dir, 'sparse-6g.bin');
  const fd = openSync(p, 'w+');
  ftruncateSync(fd, SIZE); // sparse: no blocks behind it
  // Markers spread over the file, some straddling window boundaries and the 4 GiB mark.
  const spots: number[] = [];
  for (let i = 0; i < 48; i++) spots.push(Math.floor((i * (SIZE - 64)) / 47));
  spots.push(WINDOW - 7, 3 * WINDOW - 11, 4 * GiB - 5, 4 * GiB + 100, 20 * WINDOW - 3, SIZE - 24);
  const marker = (off: number) => Buffer.from(`<${off.toString(16).padStart(12, '0')}>`);
  for (const off of spots) writeSync(fd, marker(off), 0, 14, off);
  closeSync(fd);
  /** What the file holds in [from, from + length): zeros and the markers. */
  const expected = (from: number, length: number) => {
    const b = Buffer.alloc(length);
    for (const off of spots) if (off + 14 > from && off < from + length) marker(off).copy(b, Math.max(0, off - from), Math.max(0, from - off));
    return b;
  };
  const inWindow = (pos: number) => r.windowOffset <= pos && pos < r.windowOffset + r.windowSize;

  const rssBefore = process.memoryUsage.rss();
  let rssMax = rssBefore;
  const sample = () => {
    rssMax = Math.max(rssMax, process.memoryUsage.rss());
  };
  const r = mapFile(p, { mode: 'rw', window: WINDOW });
  t.equal(r.size, SIZE, 'size is the whole file');
  t.ok(r.windowed);
  t.equal(r.windowSize, WINDOW);
  t.equal(r.windowOffset, 0);
  t.equal(r.bytes.length, WINDOW, 'bytes covers the current window');

  // Reads in an order that moves the window forward and backward.
  const order = spots.map((_, i) => spots[(i * 17) % spots.length]!);
  const got = Buffer.alloc(14);
  let bad = 0;
  for (const off of order) {
    t.equal(r.readAt(got, off), 14);
    if (!got.equals(marker(off))) bad++;
    sample();
  }
  t.equal(bad, 0, `all ${order.length} markers read back, across windows and past 4 GiB`);
  t.equal(r.readUint64At(4 * GiB - 4), marker(4 * GiB - 5).readBigUInt64LE(1), '64-bit read across the 4 GiB mark');

  // Reads spanning two windows.
  const span = Buffer.alloc(2 * MiB);
  for (const from of [3 * WINDOW - MiB, 16 * WINDOW - 1, 20 * WINDOW - 2 * MiB + 5]) {
    r.readAt(span, from);
    t.ok(span.equals(expected(from, span.length)), `a 2 MiB read across the window boundary near ${from}`);
  }
  sample();

  // Writes through the window, some straddling, checked with node:fs.
  const writes = [5, WINDOW - 2, 2 * GiB + 12345, 4 * GiB - 3, 5 * GiB + 7, SIZE - 9];
  const word = (off: number) => Buffer.from(`w${(off % 1e8).toString().padStart(8, '0')}`);
  for (const off of writes) r.writeAt(word(off), off);
  r.seek(3 * GiB);
  r.write(Buffer.from('cursor-write'));
  t.ok(inWindow(3 * GiB), 'write() at the cursor moved the window there');
  t.equal(r.windowOffset, 3 * GiB + 4096 - WINDOW, 'moving backward, the window ends just past the offset');
  r.flush();
  for (const off of writes) t.ok(pread(p, off, 9).equals(word(off)), `write at ${off} reached the file`);
  t.equal(pread(p, 3 * GiB, 12).toString(), 'cursor-write');
  sample();

  // seek moves the window; bytes then describe it.
  r.seek(5 * GiB + 100);
  t.equal(r.windowOffset, 5 * GiB, 'seek moved the window; moving forward, it starts at the offset\'s page');
  t.equal(r.bytes.subarray(7, 16).toString(), word(5 * GiB + 7).toString(), 'bytes shows the new window');

  // A sequential scan of three windows: old windows are unmapped as it goes.
  const chunk = Buffer.alloc(8 * MiB);
  r.seek(8 * WINDOW);
  for (let n = 0; n < (3 * WINDOW) / chunk.length; n++) {
    r.read(chunk);
    sample();
  }
  const mapped = smapsAvailable ? rssKiB(mappingsOf(p)) * KiB : 0;
  r.close();
  const growth = rssMax - rssBefore;
  t.comment(
    `RSS before ${(rssBefore / MiB).toFixed(0)} MiB, peak ${(rssMax / MiB).toFixed(0)} MiB (+${(growth / MiB).toFixed(0)} MiB) ` +
      `for a ${SIZE / GiB} GiB file; resident in the last window ${(mapped / MiB).toFixed(0)} MiB`,
  );
  // The scan faults in a whole window (256 MiB of page cache for the holes) at a time.
  t.ok(growth < 2 * WINDOW, `RSS grew by ${(growth / MiB).toFixed(0)} MiB: at most about one window, far below the 6 GiB file`);
  if (smapsAvailable) t.ok(mapped <= WINDOW, 'at most one window of the file was resident in the mapping');
  rmSync(p);
});

t.test('a large region gets the default window; window: false refuses one past the Buffer limit', async (t) => {
  const SIZE = 4 * GiB + 4096; // past the 4 GiB a Node 20 Buffer can cover (Node 22 on cover 2^53 - 1)
  const p = join(dir, 'sparse-default.bin');
  const fd = openSync(p, 'w+');
  ftruncateSync(fd, SIZE);
  writeSync(fd, Buffer.from('end'), 0, 3, SIZE - 3);
  closeSync(fd);
  const r = mapFile(p);
  t.ok(r.windowed, `a region over ${WINDOW_THRESHOLD} bytes is windowed by default`);
  t.equal(r.windowSize, DEFAULT_WINDOW_SIZE);
  t.equal(r.size, SIZE);
  const b = Buffer.alloc(3);
  r.readAt(b, SIZE - 3);
  t.equal(b.toString(), 'end');
  r.close();
  const small = mapFile(p, { length: 1 * MiB });
  t.notOk(small.windowed, 'a small range of it is mapped whole');
  small.close();
  const under = mapFile(p, { length: WINDOW_THRESHOLD, window: false });
  t.notOk(under.windowed, 'window: false maps whole what one Buffer can cover');
  under.close();
  if (SIZE > bufferConstants.MAX_LENGTH) {
    t.throws(() => mapFile(p, { window: false }), { code: codes.OUT_OF_RANGE }, 'but not more');
  } else {
    // Node 22 on: one Buffer covers more than 4 GiB, so the whole file maps at once.
    const whole = mapFile(p, { window: false });
    t.notOk(whole.windowed, `window: false maps ${SIZE} bytes whole where one Buffer can cover them`);
    const e = Buffer.alloc(3);
    whole.readAt(e, SIZE - 3);
    t.equal(e.toString(), 'end');
    whole.close();
  }
  t.throws(() => mapFile(p, { offset: 2 ** 53 }), { code: codes.INVALID_ARG });
  t.throws(() => mapFile(p, { window: 0 }), { code: codes.OUT_OF_RANGE });
  t.throws(() => mapFile(p, { window: 'big' as never }), { code: codes.INVALID_ARG });
  if (8 * GiB > bufferConstants.MAX_LENGTH) {
    t.throws(() => mapFile(p, { window: 8 * GiB }), { code: codes.OUT_OF_RANGE }, 'a window larger than one Buffer');
  }
  t.throws(() => mapFile(p, { mode: 'cow' }), { code: codes.INVALID_ARG }, "'cow' cannot be windowed: private changes would be lost");
  rmSync(p);
});

t.test('window semantics on a small file', async (t) => {
  const content = Buffer.alloc(256 * KiB);
  for (let i = 0; i < content.length; i++) content[i] = (i * 7) % 251;
  const p = join(dir, 'small.bin');
  writeFileSync(p, content);
  const W = 64 * KiB;

  const r = mapFile(p, { mode: 'rw', window: W });
  t.ok(r.windowed);
  const first = r.bytes;
  const firstBuffer = r.buffer;
  t.equal(first.length, W);
  const across = Buffer.alloc(W + 100);
  r.readAt(across, W - 50);
  t.ok(across.equals(content.subarray(W - 50, 2 * W + 50)), 'a read spanning three windows');
  t.equal(first.length, 0, 'a Buffer of an old window is emptied, never dangling');
  t.equal((firstBuffer as ArrayBuffer).byteLength, 0);
  t.equal(r.windowOffset, 2 * W, 'the window followed the read');

  // Moving backward keeps the window ending just past the offset.
  r.readAt(Buffer.alloc(1), 2 * W - 10);
  t.equal(r.windowOffset, W, 'a backward move ends the window past the offset');
  r.readAt(Buffer.alloc(1), 2 * W - 5000);
  t.equal(r.windowOffset, W, 'so a backward scan stays in it');

  r.writeAt(Buffer.alloc(200, 0xee), 3 * W - 100);
  r.writeUint64At(W - 4, 0x1122334455667788n);
  t.equal(r.readUint64At(W - 4), 0x1122334455667788n, '64-bit access across a window boundary');
  r.flush({ offset: 3 * W - 100, length: 200 });
  const back = pread(p, 3 * W - 100, 200);
  t.equal(back.findIndex((b) => b !== 0xee), -1, 'writes through windows reach the file');

  // advise / lock / flush ranges apply to one window at a time.
  r.advise('sequential');
  t.equal(r.windowOffset, W);
  r.advise('willneed', { offset: 200 * KiB, length: 1000 });
  t.equal(r.windowOffset, 200 * KiB, 'a range outside the window moves it');
  r.lock({ offset: 192 * KiB });
  t.equal(r.windowOffset, 196 * KiB - W, 'to wherever the range fits');
  r.unlock();
  t.throws(() => r.advise('random', { offset: W - 10, length: 20 }), { code: codes.OUT_OF_RANGE }, 'a range must fit in one window');
  t.throws(() => r.flush({ offset: 0, length: 300 * KiB }), { code: codes.OUT_OF_RANGE });
  r.flush({ offset: 0, length: 1000 });

  // The cursor and the end.
  t.equal(r.seek(0, 'end'), 256 * KiB);
  t.equal(r.read(Buffer.alloc(10)), 0);
  t.equal(r.readAt(Buffer.alloc(10), 256 * KiB - 4), 4, 'short read at the end, as io.ReaderAt');
  t.throws(() => r.writeAt(Buffer.alloc(10), 256 * KiB - 4), { code: codes.OUT_OF_RANGE });
  r.close();
  t.throws(() => r.bytes, { code: codes.CLOSED });
  t.throws(() => r.windowOffset, { code: codes.CLOSED });
});

t.test('an unaligned offset with a window', async (t) => {
  const content = Buffer.alloc(300 * KiB);
  for (let i = 0; i < content.length; i++) content[i] = i % 253;
  const p = join(dir, 'offset.bin');
  writeFileSync(p, content);
  const r = mapFile(p, { offset: 4097, length: 200 * KiB, window: 16 * KiB });
  t.equal(r.size, 200 * KiB);
  t.equal(r.byteOffset, 1, 'region byte 0 sits one byte into its page');
  t.equal(r.bytes[0], 4097 % 253);
  t.equal(r.bytes.length, 16 * KiB - 1, 'the first window holds the rest of its 16 KiB');
  const b = Buffer.alloc(40 * KiB);
  r.readAt(b, 100 * KiB);
  t.ok(b.equals(content.subarray(4097 + 100 * KiB, 4097 + 140 * KiB)));
  r.seek(150 * KiB);
  t.equal(r.bytes[0], content[4097 + r.windowOffset], 'bytes[0] is region byte windowOffset');
  r.close();
});

t.test('populate and huge pages apply to every window', async (t) => {
  const p = join(dir, 'pop.bin');
  writeFileSync(p, Buffer.alloc(512 * KiB, 1));
  const r = mapFile(p, { window: 64 * KiB, populate: true, hugePages: true });
  r.readAt(Buffer.alloc(1), 300 * KiB);
  t.equal(r.windowOffset, 300 * KiB);
  if (process.platform === 'linux') {
    t.equal(r.preload, 'populate');
    if (smapsAvailable) t.equal(rssKiB(mappingsOf(p)), 64, 'the new window was populated');
  }
  t.ok(['transparent', 'none'].includes(r.hugePages));
  r.close();
});
