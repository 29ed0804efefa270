import t from 'tap';
import { openShm, unlinkShm, codes } from '../../src/index.js';
import { spawnSync } from 'node:child_process';
import { constants as bufferConstants } from 'node:buffer';
import { forkFixture, nextMessage, runFixtureWith, shmEntries, until, waitExit } from '../helpers/peer.js';

/** A reason to skip when this machine cannot give a child its own /dev/shm (needs root and unshare). */
function privateShmUnavailable(): string | false {
  const r = spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /dev/shm'], { stdio: 'ignore' });
  return r.status === 0 ? false : 'cannot mount a private /dev/shm here (needs root and unshare -m)';
}

const MARK = `shmnet-test-shm-${process.pid}`;
const name = (tag: string) => `/${MARK}-${tag}-${Math.random().toString(36).slice(2, 8)}`;

t.teardown(() => {
  const left = shmEntries(MARK);
  for (const n of left) unlinkShm(n);
  if (left.length > 0) throw new Error(`test left names in /dev/shm: ${left.join(', ')}`);
});

t.test('create, reopen, see the same bytes, unlink', async (t) => {
  const n = name('basic');
  const a = openShm(n, { size: 8192, create: true, exclusive: true });
  t.equal(a.size, 8192);
  t.equal(a.kind, 'shm');
  t.equal(a.name, n);
  t.ok(a.buffer instanceof SharedArrayBuffer);
  t.same(shmEntries(n.slice(1)), [n.slice(1)]);
  a.writeAt(Buffer.from('hello'), 100);
  const b = openShm(n);
  t.equal(b.size, 8192, 'opening maps the real size');
  const got = Buffer.alloc(5);
  t.equal(b.readAt(got, 100), 5);
  t.equal(got.toString(), 'hello');
  b.bytes[200] = 7;
  t.equal(a.bytes[200], 7, 'writes through one mapping are seen through the other');
  unlinkShm(n);
  t.same(shmEntries(n.slice(1)), []);
  t.throws(() => openShm(n), { code: codes.NOT_FOUND });
  t.throws(() => unlinkShm(n), { code: codes.NOT_FOUND });
  a.close();
  b.close();
});

t.test('mode and exclusive creation', async (t) => {
  const n = name('mode');
  const a = openShm(n, { size: 4096, create: true, mode: 0o640 });
  const { statSync } = await import('node:fs');
  t.equal(statSync(`/dev/shm${n}`).mode & 0o777, 0o640, 'mode is exactly what was asked, whatever the umask');
  t.throws(() => openShm(n, { size: 4096, create: true, exclusive: true }), { code: codes.EXISTS });
  const again = openShm(n, { size: 4096, create: true });
  t.equal(again.size, 4096, 'create without exclusive opens the existing object');
  t.throws(() => openShm(n, { size: 8192 }), { code: codes.OUT_OF_RANGE }, 'never maps past the real size');
  unlinkShm(n);
  a.close();
  again.close();
  const d = name('default');
  const def = openShm(d, { size: 4096, create: true });
  t.equal(statSync(`/dev/shm${d}`).mode & 0o777, 0o600, 'default mode is 0600');
  unlinkShm(d);
  def.close();
});

t.test('argument errors', async (t) => {
  t.throws(() => openShm(42 as never), { code: codes.INVALID_ARG });
  t.throws(() => openShm('/a/b', { size: 4096, create: true }), { code: codes.INVALID_ARG });
  t.throws(() => openShm('/', { size: 4096, create: true }), { code: codes.INVALID_ARG });
  t.throws(() => openShm('x'.repeat(300), { size: 4096, create: true }), { code: codes.INVALID_ARG });
  t.throws(() => openShm(name('nosize'), { create: true }), { code: codes.INVALID_ARG });
  t.throws(() => openShm(name('zero'), { create: true, size: 0 }), { code: codes.OUT_OF_RANGE });
  t.throws(() => openShm(name('neg'), { create: true, size: -1 }), { code: codes.OUT_OF_RANGE });
  t.throws(() => openShm(name('frac'), { create: true, size: 1.5 }), { code: codes.INVALID_ARG });
  // Past what one Buffer can cover (4 GiB on Node 20; Node 22 on have no
  // such bound below 2^53): refused before any syscall. A 1 TiB object is
  // refused either way: by that bound, or by /dev/shm's size (no SIGBUS later).
  if (Number.isSafeInteger(bufferConstants.MAX_LENGTH + 1)) {
    t.throws(() => openShm(name('huge'), { create: true, size: bufferConstants.MAX_LENGTH + 1 }), { code: codes.OUT_OF_RANGE });
  }
  t.throws(() => openShm(name('tib'), { create: true, size: 2 ** 40 }), { code: 2 ** 40 > bufferConstants.MAX_LENGTH ? codes.OUT_OF_RANGE : codes.NO_SPACE });
  t.same(shmEntries(`${MARK}-tib`), [], 'nothing is left of the refused object');
  t.throws(() => openShm(name('excl'), { exclusive: true }), { code: codes.INVALID_ARG });
  t.throws(() => openShm(name('mode'), { create: true, size: 4096, mode: 0o7777 }), { code: codes.INVALID_ARG });
  t.throws(() => openShm(name('opts'), 5 as never), { code: codes.INVALID_ARG });
  t.throws(() => openShm(name('missing')), { code: codes.NOT_FOUND });
});

t.test('a forked child opens the same name and both see each other', async (t) => {
  const n = name('xproc');
  const region = openShm(n, { size: 4096, create: true, exclusive: true });
  const words = new Int32Array(region.buffer as SharedArrayBuffer, 0, 64);
  const child = forkFixture('mapping-peer.ts', ['shm', n]);
  region.writeAt(Buffer.from('ping from parent'), 64);
  // SYNC POINT with the child's poll of slot 0: the message is written before.
  Atomics.store(words, 0, 1);
  const msg = await nextMessage(child);
  t.equal(msg.seen, 'ping from parent', 'the child read what the parent wrote');
  t.equal(msg.size, 4096);
  await until(() => Atomics.load(words, 1) === 2, 5000, 'the child flag');
  const reply = Buffer.alloc(60);
  region.readAt(reply, 128);
  t.match(reply.toString().replace(/\0+$/, ''), /^child \d+ saw: ping from parent$/);
  t.equal(await waitExit(child), 0);
  unlinkShm(n);
  region.close();
});

t.test('a request larger than the whole /dev/shm fails with NO_SPACE', { skip: privateShmUnavailable() }, async (t) => {
  // A private mount namespace gives this child a 1 MiB /dev/shm (Docker's
  // small-/dev/shm situation); it needs root. Without it, skip with a reason.
  const probe = await runFixtureWith(['unshare', '-m', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /dev/shm && exec "$@"', 'sh'], 'no-space.ts', [String(8 * 1024 * 1024)]).catch((e) => ({ code: -1, stdout: '', stderr: String(e) }));
  if (probe.code !== 0 || !probe.stdout.trim()) {
    t.fail(`the tiny-/dev/shm child failed: ${probe.stderr.trim().slice(0, 500)}`);
    return;
  }
  const r = JSON.parse(probe.stdout.trim().split('\n').pop()!);
  t.equal(r.ok, false, 'creation failed');
  t.equal(r.code, codes.NO_SPACE);
  t.equal(r.sysCode, 'ENOSPC');
  t.equal(r.syscall, 'posix_fallocate');
  t.same(r.left, [], 'the failed object was unlinked');
});

t.test('closed regions throw CLOSED everywhere', async (t) => {
  const n = name('closed');
  const r = openShm(n, { size: 4096, create: true });
  unlinkShm(n);
  const kept = r.bytes;
  r.close();
  r.close();
  t.equal(r.closed, true);
  for (const [what, fn] of Object.entries({
    buffer: () => r.buffer,
    bytes: () => r.bytes,
    readAt: () => r.readAt(Buffer.alloc(1), 0),
    writeAt: () => r.writeAt(Buffer.alloc(1), 0),
    read: () => r.read(Buffer.alloc(1)),
    write: () => r.write(Buffer.alloc(1)),
    seek: () => r.seek(0),
    readUint64At: () => r.readUint64At(0),
    writeUint64At: () => r.writeUint64At(0, 1n),
    flush: () => r.flush(),
    advise: () => r.advise('normal'),
    lock: () => r.lock(),
    unlock: () => r.unlock(),
  })) {
    t.throws(fn, { code: codes.CLOSED }, what);
  }
  kept[0] = 1;
  t.equal(kept[0], 1, 'a view kept from before close still points at live memory');
});
