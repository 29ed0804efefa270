/**
 * Sync modes: each mode's promise, observed from a separate process.
 *
 * The probe process (test/fixtures/mapping-probe.ts) reads the bytes back
 * with node:fs and reports how much of that range is still dirty in the
 * page cache (its own smaps, after mapping the range read-only): 0 means
 * the bytes are on disk. On Linux a plain read sees a mapped write at once
 * in every mode (one page cache), so the dirty count is the assertion that
 * can fail; it needs a filesystem with write-back, so on tmpfs only the
 * text is checked.
 */
import t, { type Test } from 'tap';
import { fsyncSync, mkdtempSync, openSync, closeSync, readFileSync, readSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapFile, codes, DEFAULT_SYNC_INTERVAL, type MappedRegion } from '../../src/index.js';
import { forkFixture, nextMessage, waitExit } from '../helpers/peer.js';
import { smapsAvailable } from '../fixtures/mapping-smaps.js';

const dir = mkdtempSync(join(tmpdir(), 'shmnet-sync-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const TMPFS_MAGIC = 0x01021994;
const writeBack = smapsAvailable && statfsSync(dir).type !== TMPFS_MAGIC;
const why = writeBack ? '' : ' (dirty state not observable here: text only)';

const probe = forkFixture('mapping-probe.ts');
t.teardown(async () => {
  probe.send('exit');
  await waitExit(probe);
});
const ready = nextMessage(probe, (m) => m === 'ready');

async function look(path: string, offset: number, length: number): Promise<{ text: string; dirtyKiB: number | null }> {
  const reply = nextMessage(probe, (m) => typeof m === 'object' && m !== null && 'text' in m);
  probe.send({ path, offset, length });
  return reply;
}

let serial = 0;
/** A file of `size` bytes of 'a', written and fsync'd: clean in the page cache. */
function cleanFile(size: number): string {
  const p = join(dir, `f${serial++}.bin`);
  const fd = openSync(p, 'w+');
  writeSync(fd, Buffer.alloc(size, 0x61));
  fsyncSync(fd);
  closeSync(fd);
  return p;
}

async function expectOnDisk(t: Test, p: string, offset: number, text: string, what: string) {
  const got = await look(p, offset, text.length);
  t.equal(got.text, text, `${what}: another process reads the bytes`);
  if (writeBack) t.equal(got.dirtyKiB, 0, `${what}: nothing of it is dirty, it is on disk`);
}

async function expectNotYet(t: Test, p: string, offset: number, text: string, what: string) {
  const got = await look(p, offset, text.length);
  t.equal(got.text, text, `${what}: another process reads the bytes`);
  if (writeBack) t.ok(got.dirtyKiB! > 0, `${what}: still dirty, not yet on disk (${got.dirtyKiB} kB)`);
}

t.before(async () => {
  await ready;
});

t.test('the probe starts from a clean file', async (t) => {
  const p = cleanFile(65536);
  await expectOnDisk(t, p, 0, 'a'.repeat(16), `fresh fsync'd file${why}`);
});

t.test("'never' (the default): the OS decides; flush() puts the bytes on disk", async (t) => {
  const p = cleanFile(65536);
  const r = mapFile(p, { mode: 'rw' });
  t.equal(r.sync, 'never');
  r.writeAt(Buffer.from('NEVER-1'), 8192);
  await expectNotYet(t, p, 8192, 'NEVER-1', 'after writeAt');
  r.flush();
  await expectOnDisk(t, p, 8192, 'NEVER-1', 'after flush()');
  r.writeAt(Buffer.from('NEVER-2'), 20000);
  r.close();
  await expectNotYet(t, p, 20000, 'NEVER-2', "after close(), which does not sync in 'never'");
});

t.test("'immediate': on disk when the write call returns", async (t) => {
  const p = cleanFile(65536);
  const r = mapFile(p, { mode: 'rw', sync: 'immediate' });
  t.equal(r.sync, 'immediate');
  r.writeAt(Buffer.from('IMMEDIATE'), 4096 * 3 + 10);
  await expectOnDisk(t, p, 4096 * 3 + 10, 'IMMEDIATE', 'writeAt');
  r.seek(40000);
  r.write(Buffer.from('CURSOR'));
  await expectOnDisk(t, p, 40000, 'CURSOR', 'write at the cursor');
  r.writeUint64At(50000, 0x4847464544434241n);
  await expectOnDisk(t, p, 50000, 'ABCDEFGH', 'writeUint64At');
  r.close();
});

t.test("'immediate' through a window: a write spanning two windows is synced on both sides", async (t) => {
  const p = cleanFile(262144);
  const r = mapFile(p, { mode: 'rw', sync: 'immediate', window: 65536 });
  t.ok(r.windowed);
  const text = 'S'.repeat(3000) + 'T'.repeat(3000);
  r.writeAt(Buffer.from(text), 131072 - 3000);
  await expectOnDisk(t, p, 131072 - 3000, 'S'.repeat(3000), 'first window');
  await expectOnDisk(t, p, 131072, 'T'.repeat(3000), 'second window');
  r.close();
});

t.test("'lazy': not synced while open, on disk when close() returns, earlier windows included", async (t) => {
  const p = cleanFile(262144);
  const r = mapFile(p, { mode: 'rw', sync: 'lazy', window: 65536 });
  r.writeAt(Buffer.from('LAZY-A'), 100);
  r.readAt(Buffer.alloc(10), 200000); // the window moves away from the only write
  t.equal(r.windowOffset, 196608);
  await expectNotYet(t, p, 100, 'LAZY-A', 'the write, its window since unmapped');
  r.close();
  await expectOnDisk(t, p, 100, 'LAZY-A', 'after close()');

  const q = cleanFile(65536);
  const s = mapFile(q, { mode: 'rw', sync: 'lazy' });
  s.writeAt(Buffer.from('LAZY-B'), 30000);
  await expectNotYet(t, q, 30000, 'LAZY-B', 'a write to the mapping');
  s.close();
  await expectOnDisk(t, q, 30000, 'LAZY-B', 'after close()');
});

function kernelDirtyExpireMs(): number {
  try {
    return Number(readFileSync('/proc/sys/vm/dirty_expire_centisecs', 'utf8')) * 10 || 30_000;
  } catch {
    return 30_000;
  }
}

/** Polls the probe until [offset, offset + text.length) is clean or `ms` pass; resolves with the time taken. */
async function untilClean(p: string, offset: number, text: string, ms: number): Promise<number> {
  const start = Date.now();
  while (writeBack && (await look(p, offset, text.length)).dirtyKiB !== 0 && Date.now() - start < ms) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - start;
}

t.test("'periodic': on disk within syncInterval, earlier windows included", async (t) => {
  const interval = 200;
  // A bound that tells the periodic timer from the kernel's own writeback
  // (which waits for dirty pages to be vm.dirty_expire_centisecs old, 30 s
  // by default), generous for a loaded machine: a tenth of that age, at most 10 s.
  const bound = Math.min(10_000, kernelDirtyExpireMs() / 10);
  const p = cleanFile(262144);
  const r = mapFile(p, { mode: 'rw', sync: 'periodic', syncInterval: interval, window: 65536 });
  t.equal(r.syncInterval, interval);
  r.writeAt(Buffer.from('TICK-A'), 100);
  r.readAt(Buffer.alloc(10), 200000); // the window moves away from the only write
  const tookA = await untilClean(p, 100, 'TICK-A', bound);
  await expectOnDisk(t, p, 100, 'TICK-A', 'a write whose window was unmapped');
  if (writeBack) t.ok(tookA < bound, `synced ${tookA} ms after the write (interval ${interval} ms, bound ${bound} ms)`);

  r.writeAt(Buffer.from('TICK-B'), 201000);
  const tookB = await untilClean(p, 201000, 'TICK-B', bound);
  await expectOnDisk(t, p, 201000, 'TICK-B', 'a write to the current window');
  if (writeBack) t.ok(tookB < bound, `synced ${tookB} ms after the write`);
  r.close();
});

t.test('the periodic timer never keeps the process alive', async (t) => {
  const p = cleanFile(8192);
  const child = forkFixture('mapping-periodic-exit.ts', [p]);
  const exited = waitExit(child);
  await nextMessage(child, (m) => m.event === 'written');
  const written = Date.now();
  const code = await exited;
  t.equal(code, 0, 'the child ran to its end and exited by itself');
  t.ok(Date.now() - written < 30_000, `${Date.now() - written} ms after its write, well before its 60 s sync interval`);
  const fd = openSync(p, 'r');
  const b = Buffer.alloc(8);
  readSync(fd, b, 0, 8, 0);
  closeSync(fd);
  t.equal(b.toString(), 'PERIODIC', 'its write reached the file');
});

t.test('a failing background sync: an error event, or kept for the next flush()', { skip: process.platform !== 'linux' && 'needs /proc/self/fd' }, async (t) => {
  const p = cleanFile(262144);
  const child = forkFixture('mapping-sync-error.ts', [p]);
  const report = await nextMessage<Record<string, any>>(child);
  await waitExit(child);
  t.equal(report.event?.code, codes.SYSCALL, "'error' event with a listener");
  t.equal(report.event?.sysCode, 'EBADF', 'carrying the failed call');
  t.equal(report.event?.syscall, 'fdatasync', 'from the fdatasync covering the unmapped window');
  t.equal(report.listeners, 0);
  t.equal(report.survived, true, 'failing ticks without a listener do not throw from the timer');
  t.equal(report.kept?.code, codes.SYSCALL, 'flush() throws the kept error');
  t.equal(report.kept?.sysCode, 'EBADF');
  if (report.reused) {
    // The fd number was live again, so flush()'s own sync succeeded: the error thrown is the kept one, once.
    t.equal(report.secondFlush, 'ok', 'a kept error is thrown once');
    t.equal(report.closed, 'ok');
  } else {
    // The kernel did not hand the fd number out again, so every later sync fails on its own, still coded.
    t.equal(report.secondFlush?.code ?? report.secondFlush, codes.SYSCALL, 'later syncs fail with a coded error');
  }
});

t.test('sync options are checked', async (t) => {
  const p = cleanFile(8192);
  t.throws(() => mapFile(p, { mode: 'rw', sync: 'sometimes' as never }), { code: codes.INVALID_ARG });
  t.throws(() => mapFile(p, { sync: 'immediate' }), { code: codes.INVALID_ARG }, "sync needs mode 'rw'");
  t.throws(() => mapFile(p, { mode: 'cow', sync: 'lazy' }), { code: codes.INVALID_ARG });
  t.throws(() => mapFile(p, { mode: 'rw', syncInterval: 100 }), { code: codes.INVALID_ARG }, "syncInterval needs 'periodic'");
  t.throws(() => mapFile(p, { mode: 'rw', sync: 'periodic', syncInterval: 0 }), { code: codes.OUT_OF_RANGE });
  t.throws(() => mapFile(p, { mode: 'rw', sync: 'periodic', syncInterval: 1.5 }), { code: codes.INVALID_ARG });
  const r: MappedRegion = mapFile(p, { mode: 'rw', sync: 'periodic' });
  t.equal(r.syncInterval, DEFAULT_SYNC_INTERVAL);
  r.close();
  const n = mapFile(p, { sync: 'never' });
  t.equal(n.sync, 'never', "'never' is accepted in any mode");
  n.close();
});
