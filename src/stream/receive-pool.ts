/**
 * Where the default 'data' path puts what it reads: slices of a shared
 * slab, as Node's own Buffer pool does for small buffers, instead of one
 * fresh allocation per read.
 *
 * A read copies the ring's bytes into the current slab at the next free
 * offset (placed at the ring position's alignment mod 8, so the copy runs
 * at word speed) and pushes a Buffer view of just those bytes. When the
 * slab has less than MIN_SLICE left, a new one is taken; the old one is
 * freed by the garbage collector once no pushed Buffer views it. So a
 * pushed Buffer, however small, keeps its whole slab alive: a retained
 * chunk pins at most SLAB_SIZE bytes (and the slabs in use by chunks
 * still held, at most one SLAB_SIZE each).
 *
 * One pool per thread, shared by every Conn in it (reads are synchronous,
 * so two Conns never interleave inside one slice). Slabs are marked
 * untransferable, as Node's own pool is: a `postMessage` that lists a
 * chunk's `buffer` for transfer copies instead of detaching the slab
 * under every other chunk in it.
 */
import { markAsUntransferable } from 'node:worker_threads';
import type { RingConsumer } from '../ring/ring.js';

/** Bytes per slab: what one retained chunk can pin at most. */
export const SLAB_SIZE = 256 * 1024;
/** A slab with less room left than this is retired; keeps slices from getting small. */
const MIN_SLICE = 16 * 1024;

let slab: Buffer | null = null;
/** First free byte of `slab`. */
let used = SLAB_SIZE;

/**
 * Reads up to `max` bytes from `rx` into the pool and returns them as a
 * Buffer view of the slab (null when the ring is empty). Call
 * `rx.producerNeedsWake()` afterwards, as after any read.
 */
export function readPooled(rx: RingConsumer, max: number): Buffer | null {
  if (SLAB_SIZE - used < MIN_SLICE + 8) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    markAsUntransferable(slab.buffer);
    used = 0;
  }
  const s = slab!;
  // Slabs start 8-aligned (allocUnsafeSlow): align the slice with the ring.
  const at = ((used + 7) & ~7) + rx.readPhase();
  const room = SLAB_SIZE - at;
  const n = rx.read(s, at, max < room ? max : room);
  if (n === 0) return null;
  used = at + n;
  return s.subarray(at, at + n);
}

/** How the 'data' path allocates: slab slices (the default) or one Buffer per read. */
export type ReceiveAllocation = 'pool' | 'fresh';
let allocation: ReceiveAllocation = 'pool';

/** @internal Switches the allocation of every later read in this thread (bench/receive-pool.ts compares the two). */
export function setReceiveAllocation(a: ReceiveAllocation): void {
  allocation = a;
}

/** The 'data' path's read: up to `max` bytes as a Buffer to push, or null when the ring is empty. */
export function readForPush(rx: RingConsumer, max: number): Buffer | null {
  return allocation === 'pool' ? readPooled(rx, max) : rx.readBuffer(max);
}
