/** Stream test helpers: deterministic random payloads and hashing. */
import { createHash, randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';

/** A pool of random bytes; payloads are windows into it at random offsets. */
const POOL = randomBytes(2 * 1024 * 1024 + 1);

/** A chunk size between 1 byte and `max`, log-uniform so small and large sizes both occur. */
export function randomChunkSize(max = 1 << 20): number {
  const bits = Math.log2(max);
  return Math.max(1, Math.min(max, Math.floor(2 ** (Math.random() * bits))));
}

export function randomChunk(size: number): Buffer {
  const off = Math.floor(Math.random() * (POOL.length - size));
  return POOL.subarray(off, off + size);
}

/**
 * Writes `total` bytes in random chunk sizes to `w`, honouring
 * backpressure; resolves with the SHA-256 of everything written.
 */
export function sendRandom(w: Writable, total: number, maxChunk = 1 << 20, end = true): Promise<string> {
  const hash = createHash('sha256');
  let sent = 0;
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    w.once('error', onError);
    const pump = () => {
      while (sent < total) {
        const n = Math.min(total - sent, randomChunkSize(maxChunk));
        const chunk = randomChunk(n);
        hash.update(chunk);
        sent += n;
        if (!w.write(chunk)) {
          w.once('drain', pump);
          return;
        }
      }
      w.off('error', onError);
      if (end) w.end();
      resolve(hash.digest('hex'));
    };
    pump();
  });
}

/** Hashes everything a readable delivers until 'end'. */
export function hashUntilEnd(r: NodeJS.ReadableStream): Promise<{ sha: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  return new Promise((resolve, reject) => {
    r.on('data', (d: Buffer) => {
      hash.update(d);
      bytes += d.length;
    });
    r.once('end', () => resolve({ sha: hash.digest('hex'), bytes }));
    r.once('error', reject);
  });
}

/**
 * An `onread` option that hashes what it receives into buffers of random
 * length (log-uniform, 1 byte to `maxBuffer`) at random offsets of one
 * slab, so reads end at every offset class of a ring. `done()` resolves
 * at the Conn's 'end' with the hash and byte count.
 */
export function hashingOnread(maxBuffer = 16 * 1024): {
  onread: { buffer: () => Uint8Array; callback: (n: number, buf: Uint8Array) => boolean };
  done(conn: NodeJS.EventEmitter): Promise<{ sha: string; bytes: number; calls: number }>;
} {
  const slab = new Uint8Array(4 * maxBuffer);
  const hash = createHash('sha256');
  let bytes = 0;
  let calls = 0;
  const onread = {
    buffer: () => {
      const n = randomChunkSize(maxBuffer);
      const off = Math.floor(Math.random() * (slab.length - n));
      return slab.subarray(off, off + n);
    },
    callback: (n: number, buf: Uint8Array) => {
      calls++;
      bytes += n;
      hash.update(buf.subarray(0, n));
      return true;
    },
  };
  const done = (conn: NodeJS.EventEmitter) =>
    new Promise<{ sha: string; bytes: number; calls: number }>((resolve, reject) => {
      conn.once('end', () => resolve({ sha: hash.digest('hex'), bytes, calls }));
      conn.once('error', reject);
    });
  return { onread, done };
}

/** What a Conn with zero-copy lanes offers (claim/commit, borrow/release). */
interface LaneConn extends NodeJS.EventEmitter {
  claim(max: number): Uint8Array | null;
  commit(n: number): void;
  borrow(max?: number): Uint8Array | null;
  release(n: number): void;
  end(): unknown;
  readonly readableEnded: boolean;
  readonly destroyed: boolean;
}

/** Resolves with the first of `events` that `e` emits ('error' rejects). */
function firstOf(e: NodeJS.EventEmitter, events: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const fns = events.map((ev) => () => {
      cleanup();
      resolve(ev);
    });
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      events.forEach((ev, i) => e.off(ev, fns[i]!));
      e.off('error', onError);
    };
    events.forEach((ev, i) => e.on(ev, fns[i]!));
    e.on('error', onError);
  });
}

/**
 * Writes `total` random bytes through claim/commit: claims of random size
 * (1 B to `maxChunk`), each filled and committed in a random-length
 * prefix, waiting for 'claimable' when the ring is full. Resolves with
 * the SHA-256 of everything committed.
 */
export async function claimRandom(conn: LaneConn, total: number, maxChunk = 1 << 20, end = true): Promise<string> {
  const hash = createHash('sha256');
  let sent = 0;
  while (sent < total) {
    const view = conn.claim(Math.min(total - sent, randomChunkSize(maxChunk)));
    if (view === null) {
      if (conn.destroyed) throw new Error('the Conn was destroyed');
      await firstOf(conn, ['claimable', 'close']);
      continue;
    }
    const n = Math.max(1, Math.floor(Math.random() * view.length) + 1);
    view.set(randomChunk(n));
    hash.update(view.subarray(0, n));
    conn.commit(n);
    sent += n;
  }
  if (end) conn.end();
  return hash.digest('hex');
}

/**
 * Reads a Conn through borrow/release until its end: borrows of random
 * `max` (1 B to `maxBorrow`), each hashed and released in a random-length
 * prefix (the rest comes again), waiting for 'borrowable' when empty.
 */
export async function borrowUntilEnd(conn: LaneConn, maxBorrow = 64 * 1024): Promise<{ sha: string; bytes: number; borrows: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  let borrows = 0;
  const ended = firstOf(conn, ['end']);
  ended.catch(() => {});
  for (;;) {
    const view = conn.borrow(randomChunkSize(maxBorrow));
    if (view === null) {
      if (conn.readableEnded) break;
      if (conn.destroyed) throw new Error('the Conn was destroyed');
      if ((await firstOf(conn, ['borrowable', 'end'])) === 'end') break;
      continue;
    }
    borrows++;
    const n = Math.floor(Math.random() * view.length) + 1;
    hash.update(view.subarray(0, n));
    bytes += n;
    conn.release(n);
  }
  await ended;
  return { sha: hash.digest('hex'), bytes, borrows };
}
