/**
 * The ring pump on its own: two Conns in one thread over one region, with
 * signals that ring the other pump on the next tick. Every step checks the
 * pump's stated invariants.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import t from 'tap';
import { codes, ringCorrupt } from '../../src/errors.js';
import { regionSize } from '../../src/ring/header.js';
import { initRegion, openEnds } from '../../src/ring/region.js';
import { Conn } from '../../src/stream/conn.js';
import { RingPump, type RingSignals } from '../../src/stream/ring-pump.js';

class LoopSignals implements RingSignals {
  peer: RingPump | null = null;
  released = 0;
  wakes = 0;
  constructor(readonly self: () => RingPump) {}
  wake(): void {
    this.wakes++;
    const p = this.peer;
    if (p) setImmediate(() => p.onWake());
  }
  sleep(): boolean {
    return false;
  }
  pollPeerClosed(): boolean {
    return false;
  }
  waiting(): void {}
  release(): void {
    this.released++;
    const p = this.peer;
    // The peer learns of the close as a socket close would tell it.
    if (p) setImmediate(() => p.peerLeft('the peer went away'));
  }
  ref(): void {}
  unref(): void {}
  stats(): Record<string, number> {
    return { wakes: this.wakes };
  }
}

function pair(capacity: number, spin = 0): { a: Conn; b: Conn; pa: RingPump; pb: RingPump } {
  const sab = new SharedArrayBuffer(regionSize(capacity));
  initRegion(sab, capacity);
  const a = new Conn({ role: 'client', allowHalfOpen: false });
  const b = new Conn({ role: 'server', allowHalfOpen: false });
  const ea = openEnds(sab, capacity, 'client');
  const eb = openEnds(sab, capacity, 'server');
  const pa = new RingPump({ conn: a, transport: 'shm', ...ea, spin, noun: 'connection', trackPeaks: true, startError: null });
  const pb = new RingPump({ conn: b, transport: 'shm', ...eb, spin, noun: 'connection', trackPeaks: false, startError: null });
  const sa = new LoopSignals(() => pa);
  const sb = new LoopSignals(() => pb);
  sa.peer = pb;
  sb.peer = pa;
  pa.start(sa);
  pb.start(sb);
  a._attach(pa);
  b._attach(pb);
  return { a, b, pa, pb };
}

t.test('bytes arrive whole and in order through a small ring; invariants hold throughout', async (t) => {
  const { a, b, pa, pb } = pair(4096);
  const closed = Promise.all([once(a, 'close'), once(b, 'close')]);
  const check = setInterval(() => {
    pa.checkInvariants();
    pb.checkInvariants();
  }, 1);
  const sent = createHash('sha256');
  const got = createHash('sha256');
  let total = 0;
  b.on('data', (d: Buffer) => {
    got.update(d);
    total += d.length;
    pb.checkInvariants();
  });
  for (let i = 0; i < 200; i++) {
    const chunk = randomBytes(1 + ((i * 7919) % 20000));
    sent.update(chunk);
    a.write(chunk);
    pa.checkInvariants();
  }
  a.end();
  await once(b, 'end');
  clearInterval(check);
  pa.checkInvariants();
  pb.checkInvariants();
  t.equal(got.digest('hex'), sent.digest('hex'), 'SHA-256 of what arrived equals what was sent');
  t.ok(total > 0);
  t.equal(a.transport, 'shm');
  // allowHalfOpen is false: b ends its side once it saw 'end', and both close.
  a.resume();
  await closed;
  pa.checkInvariants();
  pb.checkInvariants();
});

t.test('paused reader: the writer waits on a full ring and resumes when the reader reads', async (t) => {
  const { a, b, pa } = pair(4096);
  b.pause();
  const big = randomBytes(64 * 1024);
  let done = false;
  a.write(big, () => (done = true));
  await new Promise((r) => setTimeout(r, 20));
  pa.checkInvariants();
  const parts: Buffer[] = [];
  b.on('data', (d: Buffer) => parts.push(d));
  b.resume();
  while (Buffer.concat(parts).length < big.length) await once(b, 'data');
  t.ok(Buffer.concat(parts).equals(big));
  t.ok(done || (await once(a, 'drain'), true));
  a.destroy();
  b.destroy();
});

t.test('a pump whose rings were corrupt at start fails writes and destroys its Conn with that error', async (t) => {
  const sab = new SharedArrayBuffer(regionSize(4096));
  initRegion(sab, 4096);
  const conn = new Conn({ role: 'client', allowHalfOpen: false });
  const err = ringCorrupt('corrupt before the pump existed');
  const pump = new RingPump({ conn, transport: 'shm', ...openEnds(sab, 4096, 'client'), spin: 0, noun: 'connection', trackPeaks: false, startError: err });
  pump.start(new LoopSignals(() => pump));
  t.equal(pump.tryWrite(Buffer.from('x')), false, 'tryWrite refuses');
  let writeErr: Error | null | undefined;
  pump.write([Buffer.from('x')], (e) => (writeErr = e));
  t.equal(writeErr, err, 'write fails with the start error');
  conn._attach(pump);
  const [destroyed] = (await once(conn, 'error')) as [Error & { code?: string }];
  t.equal(destroyed.code, codes.RING_CORRUPT);
  pump.checkInvariants();
});

t.test('a peer that leaves without FIN destroys the Conn with PEER_GONE', async (t) => {
  const { a, pa } = pair(4096);
  pa.peerLeft('gone without a word');
  const [err] = (await once(a, 'error')) as [Error & { code?: string }];
  t.equal(err.code, codes.PEER_GONE);
  t.match(err.message, /gone without a word/);
  pa.checkInvariants();
});
