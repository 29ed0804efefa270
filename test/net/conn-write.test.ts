/**
 * Conn.write()'s shortcut (conn.ts): a binary chunk without a callback
 * that fits in the ring skips the Writable machinery. These tests pin what
 * must not change because of it: byte order across fast and slow writes
 * mixed with cork/uncork, callbacks and strings; the return value and
 * writableLength; write-after-end and write-after-destroy errors; and a
 * corrupt ring found by the shortcut destroying the Conn with a coded error.
 * A worker channel in this thread stands in for the engine (the shm engine
 * shares the shortcut's code path through `Engine.tryWrite`).
 */
import t from 'tap';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { createChannel, openChannel } from '../../src/channel/index.js';
import { Conn } from '../../src/index.js';
import { ringOffsets } from '../../src/ring/header.js';
import { RING_C2S, TAIL_INDEX } from '../../src/ring/layout.js';

const RING = 64 * 1024;

function pair(): [Conn, Conn, SharedArrayBuffer] {
  const { port1, port2 } = createChannel({ ringSize: RING, spin: 0 });
  const a = openChannel(port1);
  const b = openChannel(port2);
  t.teardown(() => {
    a.destroy();
    b.destroy();
  });
  return [a, b, port1.buffer];
}

t.test('a write that fits skips _write, returns true and leaves nothing buffered', async (t) => {
  const [a, b] = pair();
  let viaWritable = 0;
  const orig = Conn.prototype._write;
  a._write = function (this: Conn, ...args: Parameters<Conn['_write']>) {
    viaWritable++;
    return orig.apply(this, args);
  };
  const chunk = Buffer.alloc(1000, 1);
  t.equal(a.write(chunk), true);
  t.equal(a.writableLength, 0, 'nothing buffered');
  t.equal(viaWritable, 0, 'the shortcut wrote it');
  t.equal(a.bytesWritten, 1000);
  let called = false;
  t.equal(a.write(chunk, () => (called = true)), true);
  t.equal(viaWritable, 1, 'a write with a callback takes the Writable path');
  t.equal(called, false, 'its callback is not called synchronously');
  await new Promise((r) => setImmediate(r));
  t.equal(called, true);
  a.write('text');
  t.equal(viaWritable, 2, 'strings take the Writable path');
  a.end();
  const got: Buffer[] = [];
  b.on('data', (d: Buffer) => got.push(d));
  await once(b, 'end');
  t.equal(Buffer.concat(got).length, 2004);
});

t.test('fast and slow writes, cork and callbacks interleaved keep the byte order (SHA-256)', async (t) => {
  const [a, b] = pair();
  const sent = createHash('sha256');
  const recv = createHash('sha256');
  let received = 0;
  b.on('data', (d: Buffer) => {
    recv.update(d);
    received += d.length;
  });
  const ended = once(b, 'end');
  let total = 0;
  let callbacks = 0;
  let expectCallbacks = 0;
  for (let i = 0; i < 3000; i++) {
    // Mostly small chunks (the shortcut), some larger than the whole ring
    // (Writable + pending write), some with callbacks, some corked.
    const size = i % 97 === 0 ? RING + 1234 : 1 + ((i * 7919) % 3000);
    const chunk = randomBytes(size);
    sent.update(chunk);
    total += size;
    if (i % 50 === 0) a.cork();
    let ok: boolean;
    if (i % 13 === 0) {
      expectCallbacks++;
      ok = a.write(chunk, (err) => {
        if (!err) callbacks++;
      });
    } else ok = a.write(chunk);
    if (i % 50 === 5) a.uncork();
    if (!ok) {
      // Corked bytes flow only after uncork(): waiting for 'drain' while
      // corked would wait forever (as with net.Socket).
      if (a.writableCorked) a.uncork();
      await once(a, 'drain');
    }
  }
  if (a.writableCorked) a.uncork();
  a.end();
  await ended;
  t.equal(received, total, `${total} bytes arrived`);
  t.equal(recv.digest('hex'), sent.digest('hex'), 'same bytes in the same order');
  t.equal(a.bytesWritten, total, 'bytesWritten counts both paths');
  t.equal(callbacks, expectCallbacks, 'every callback was called without error');
});

t.test('write after end and after destroy still fails the way net.Socket does', async (t) => {
  const [a] = pair();
  a.end();
  const errAfterEnd = once(a, 'error');
  t.equal(a.write(Buffer.from('late')), false);
  const [e1] = (await errAfterEnd) as [NodeJS.ErrnoException];
  t.equal(e1.code, 'ERR_STREAM_WRITE_AFTER_END');

  const [c] = pair();
  c.destroy();
  let cbErr = null as NodeJS.ErrnoException | null;
  c.write(Buffer.from('late'), (err) => (cbErr = err as NodeJS.ErrnoException));
  await new Promise((r) => setImmediate(r));
  t.equal(cbErr?.code, 'ERR_STREAM_DESTROYED');
  t.equal(c.write(Buffer.from('late')), false, 'no shortcut on a destroyed Conn');
  t.equal(c.bytesWritten, 0, 'nothing counted as written');
});

t.test('a corrupt ring seen by the shortcut destroys the Conn with a coded error', async (t) => {
  const [a, , buffer] = pair();
  t.equal(a.write(Buffer.alloc(40 * 1024)), true, 'first write fits');
  // The peer's tail runs ahead of what was ever written: a hostile value.
  const { controlOffset } = ringOffsets(RING)[RING_C2S]!;
  const words = new Int32Array(buffer, controlOffset);
  Atomics.store(words, TAIL_INDEX, 1 << 30);
  const failed = once(a, 'error');
  t.equal(a.write(Buffer.alloc(40 * 1024)), false, 'the write that needed the tail fails');
  const [err] = (await failed) as [NodeJS.ErrnoException];
  t.equal(err.code, 'SHMNET_ERR_RING_CORRUPT');
  t.ok(a.destroyed);
});
