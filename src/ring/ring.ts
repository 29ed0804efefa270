/**
 * A single-producer single-consumer byte ring over a shared buffer.
 *
 * One `RingProducer` and one `RingConsumer` share a control block and a
 * data area (see layout.ts). Bytes are a plain stream: no record headers.
 *
 * ## Counters
 *
 * `head` (bytes ever published) belongs to the producer, `tail` (bytes ever
 * consumed) to the consumer. Both are free-running Int32 words; the number
 * of bytes in the ring is `(head - tail) >>> 0`, which stays correct across
 * the 2^31 and 2^32 wraps because capacity ≤ 2^30. Each side keeps its own
 * counter in a local field as the authority and never reads it back from
 * shared memory; it caches the peer's counter and reloads it only when the
 * cache shows too little data (consumer) or space (producer).
 *
 * ## Publish / observe rules
 *
 * All accesses to control words are `Atomics` operations, which are
 * sequentially consistent in JavaScript.
 *
 * 1. Producer: copy bytes into the data area, THEN store the new `head`.
 *    A consumer that loads `head` sees every byte before it.
 * 2. Consumer: copy bytes out of the data area, THEN store the new `tail`.
 *    A producer that loads `tail` may overwrite everything before it.
 * 3. End of stream: the producer stores `fin = 1` after its last `head`
 *    store. The consumer loads `fin` first and `head` second, so once it
 *    sees `fin = 1` the head it loads next is the final one.
 *
 * ## Parking (no lost wake-ups)
 *
 * A side that cannot progress parks with a Dekker-style handshake. For the
 * consumer (the producer side is the mirror image with `producerParked`
 * and `tail`):
 *
 * ```
 *   consumer.park()                  producer.write() + consumerNeedsWake()
 *   store consumerParked = 1         store head = h'
 *   load  head / fin  (re-check)     load  consumerParked
 * ```
 *
 * Each side stores, then loads the word the other side stores. With
 * sequentially consistent stores and loads at least one of the two loads
 * sees the other side's store: either the consumer's re-check sees the new
 * head (it clears its flag and carries on) or the producer sees the flag
 * (it clears it and the caller rings the doorbell once). Both may happen;
 * the result is a spurious doorbell, never a lost one. The parked words
 * only ever cause extra doorbells, so any non-zero value counts as parked.
 *
 * How a doorbell travels is the transport's business (a byte on a socket
 * between processes). Between threads of one process the parked words
 * are the doorbell themselves: `sleep()` waits on this side's word with
 * `Atomics.waitAsync` while it is still set, `wakePeer()` notifies the
 * other side's word, and `wakeSelf()` releases this side's own waiter.
 * Engines use these methods and never index the control words.
 *
 * ## Untrusted peer
 *
 * The peer may be hostile or crashed and write anything into the control
 * block. A loaded `head` must leave at most `capacity` bytes in the ring
 * and may not move backwards; a loaded `tail` likewise; `fin` must be 0 or
 * 1, and `head` may not change once `fin` is seen. A violation throws
 * `SHMNET_ERR_RING_CORRUPT`. Data offsets are always `counter & mask` and
 * lengths are bounded by the checked counters, so no value in shared
 * memory can cause an out-of-bounds access.
 *
 * ## Zero-copy lanes
 *
 * Besides copying (`write`/`read`), each end can work in place. The
 * producer `claim(max)`s a writable view of free bytes at the head, fills
 * a prefix of it and `commit(n)`s that prefix (publishing it as `write`
 * does, rule 1); the consumer `borrow(max)`s a readable view of published
 * bytes at the tail and `release(n)`s a prefix (freeing it as `read`
 * does, rule 2). The lifetime rules:
 *
 *   - A view never spans the wrap: it ends at the end of the data area at
 *     the latest, and the next claim or borrow starts at its beginning.
 *     Loop to move more than one view holds.
 *   - A claimed view is the producer's until `commit()`; after it the
 *     committed bytes are the consumer's and the rest of the view is
 *     nobody's (the next claim hands it out again). A borrowed view is
 *     readable until `release()`; the released bytes may be overwritten at
 *     once, the unreleased rest comes again with the next borrow.
 *   - One claim at a time per producer, one borrow at a time per consumer,
 *     and no copying call on that end while one is held: anything else is
 *     `SHMNET_ERR_INVALID_STATE`; committing or releasing more than the
 *     view held is `SHMNET_ERR_OUT_OF_RANGE`. After `end()`/`abort()`
 *     (producer) or `close()` (either end) an outstanding view is void:
 *     its commit or release, and every later claim or borrow, is
 *     `SHMNET_ERR_CLOSED`.
 *   - A view is made only from counters already checked (as for every
 *     copy), so its offset and length are within the data area whatever
 *     the peer writes into the control block. Its bytes are shared
 *     memory: a hostile peer can change a borrowed range while it is held,
 *     even between two reads of the same byte. Parse borrowed bytes as
 *     untrusted input, and copy out what must not change under you.
 *
 * ## Copy speed
 *
 * V8 copies into and out of a SharedArrayBuffer byte by byte when source
 * and destination differ in alignment mod 8 (it uses a relaxed-atomic
 * memcpy), which is about 7× slower than the word copy (measured on Node
 * 20: 1 KiB in ~350 ns instead of ~50 ns). Copies of at least
 * `BOUNCE_MIN` bytes with mismatched alignment therefore go through a
 * per-thread bounce buffer placed to match the shared side's alignment,
 * and `readBuffer` allocates its result with the ring's alignment.
 */
import { closedError, invalidArg, invalidState, outOfRange, ringCorrupt } from '../errors.js';
import { checkCapacity } from './header.js';
import {
  CONSUMER_PARKED_INDEX,
  FIN_ABORTED,
  FIN_INDEX,
  HEAD_INDEX,
  PRODUCER_PARKED_INDEX,
  RING_CONTROL_SIZE,
  RING_CONTROL_WORDS,
  TAIL_INDEX,
} from './layout.js';

/** Misaligned copies at least this long go through the bounce buffer. */
const BOUNCE_MIN = 128;
/** Bounce buffer size; a multiple of 8 so chunking keeps the alignment. */
const BOUNCE_SIZE = 64 * 1024;
let bounce: Uint8Array | null = null;

/**
 * Copies `n` bytes from `src[srcPos]` to `dst[dstPos]`, one of which lies
 * in shared memory, at word speed whatever their alignment.
 * `sharedAddr` is the absolute byte offset of the shared side's first byte.
 */
function copyBytes(dst: Uint8Array, dstPos: number, src: Uint8Array, srcPos: number, n: number, sharedAddr: number): void {
  if (n < BOUNCE_MIN || ((dst.byteOffset + dstPos - (src.byteOffset + srcPos)) & 7) === 0) {
    if (srcPos === 0 && n === src.length) dst.set(src, dstPos);
    else dst.set(src.subarray(srcPos, srcPos + n), dstPos);
    return;
  }
  const b = (bounce ??= new Uint8Array(BOUNCE_SIZE + 8));
  // The bounce buffer starts on an 8-byte boundary: putting the data at
  // `shift` aligns it with the shared side, the leg V8 copies slowly.
  const shift = sharedAddr & 7;
  while (n > 0) {
    const k = n < BOUNCE_SIZE ? n : BOUNCE_SIZE;
    b.set(src.subarray(srcPos, srcPos + k), shift);
    dst.set(b.subarray(shift, shift + k), dstPos);
    srcPos += k;
    dstPos += k;
    n -= k;
  }
}

function checkPlacement(sab: unknown, controlOffset: number, dataOffset: number, capacity: number): asserts sab is ArrayBufferLike {
  if (!(sab instanceof SharedArrayBuffer) && !(sab instanceof ArrayBuffer)) {
    throw invalidArg('ring memory must be a SharedArrayBuffer or ArrayBuffer');
  }
  checkCapacity(capacity);
  const size = sab.byteLength;
  if (!Number.isInteger(controlOffset) || controlOffset < 0 || controlOffset % 8 !== 0 || controlOffset + RING_CONTROL_SIZE > size) {
    throw outOfRange(`ring control offset ${controlOffset} must be a multiple of 8 with ${RING_CONTROL_SIZE} bytes behind it in a ${size}-byte region`);
  }
  if (!Number.isInteger(dataOffset) || dataOffset < 0 || dataOffset % 8 !== 0 || dataOffset + capacity > size) {
    throw outOfRange(`ring data offset ${dataOffset} must be a multiple of 8 with ${capacity} bytes behind it in a ${size}-byte region`);
  }
  if (dataOffset < controlOffset + RING_CONTROL_SIZE && controlOffset < dataOffset + capacity) {
    throw outOfRange(`ring data area at ${dataOffset} overlaps the control block at ${controlOffset}`);
  }
}

/**
 * Zeroes a ring's control block (counters, fin, parked flags). Call once,
 * on the region's creator side, before either handle exists and before
 * the region is handed to the peer.
 */
export function initRing(sab: ArrayBufferLike, controlOffset: number): void {
  if (!(sab instanceof SharedArrayBuffer) && !(sab instanceof ArrayBuffer)) {
    throw invalidArg('ring memory must be a SharedArrayBuffer or ArrayBuffer');
  }
  if (!Number.isInteger(controlOffset) || controlOffset < 0 || controlOffset % 8 !== 0 || controlOffset + RING_CONTROL_SIZE > sab.byteLength) {
    throw outOfRange(`ring control offset ${controlOffset} is out of range for a ${sab.byteLength}-byte region`);
  }
  new Int32Array(sab, controlOffset, RING_CONTROL_WORDS).fill(0);
}

/**
 * What both handles adopt from a ring they open: its views and its current
 * counters, checked. Creating a handle on a fresh ring (after `initRing`)
 * or on one already in use are the same thing.
 */
function openEnd(
  sab: ArrayBufferLike,
  controlOffset: number,
  dataOffset: number,
  capacity: number,
): { words: Int32Array; data: Uint8Array; head: number; tail: number } {
  checkPlacement(sab, controlOffset, dataOffset, capacity);
  const words = new Int32Array(sab, controlOffset, RING_CONTROL_WORDS);
  // SYNC POINT with a producer's write() (this or a previous handle):
  // adopting the published head.
  const head = Atomics.load(words, HEAD_INDEX);
  // SYNC POINT with a consumer's read()/readBuffer(): adopting the consumed count.
  const tail = Atomics.load(words, TAIL_INDEX);
  const used = (head - tail) >>> 0;
  if (used > capacity) throw ringCorrupt(`head ${head >>> 0} - tail ${tail >>> 0} = ${used} bytes exceeds capacity ${capacity}`);
  return { words, data: new Uint8Array(sab, dataOffset, capacity), head, tail };
}

function checkRange(what: string, start: number, end: number, length: number): void {
  // `x >>> 0 === x` accepts exactly the integers in [0, 2^32).
  if (start >>> 0 !== start || end >>> 0 !== end || start > end || end > length) {
    throw outOfRange(`${what}: range [${start}, ${end}) is not within 0..${length}`);
  }
}

/** Checks a claim's or borrow's `max`: a whole number of bytes, at least one. */
export function checkLaneMax(what: string, max: number): void {
  if (max >>> 0 !== max || max === 0) throw outOfRange(`${what}: max ${max} must be an integer in [1, 2^32)`);
}

/** Checks a commit's or release's `n` against the `held` view (-1: none). */
export function checkLaneEnd(what: string, n: number, held: number, view: string): void {
  if (held < 0) throw invalidState(`${what}: no ${view} is outstanding`);
  if (n >>> 0 !== n || n > held) throw outOfRange(`${what}: ${n} bytes exceed the ${view} of ${held}`);
}

/** Length of a lane's view at `pos`: `avail` checked bytes, up to `max`, not past the end of the data area. */
function laneLength(pos: number, capacity: number, avail: number, max: number): number {
  let n = capacity - pos;
  if (n > avail) n = avail;
  return n > max ? max : n;
}

/**
 * The waking half of the park handshake, run by one side right after it
 * published (the producer's head/fin store, the consumer's tail store):
 * true if the other side is parked on `w[flag]`, in which case the flag is
 * now cleared and the caller must ring the doorbell once.
 */
function takeParkedFlag(w: Int32Array, flag: number): boolean {
  // SYNC POINT with the other side's park(): loaded after our publishing
  // store; if its re-check (after storing the flag) missed that store, this
  // load sees the flag.
  if (Atomics.load(w, flag) === 0) return false;
  // SYNC POINT with the other side's park(): exchange, so that when it
  // unparked itself meanwhile only one of us acts on the flag.
  return Atomics.exchange(w, flag, 0) !== 0;
}

type WaitAsyncResult =
  | { async: false; value: 'not-equal' | 'timed-out' }
  | { async: true; value: Promise<'ok' | 'timed-out'> };
/** `Atomics.waitAsync` (in Node since 16; typed only from lib ES2024, and we build against ES2022). */
const waitAsync = (Atomics as unknown as { waitAsync(ta: Int32Array, index: number, value: number): WaitAsyncResult }).waitAsync;

/**
 * Waits for a notify on parked word `w[flag]`, registered only while the
 * word is still 1: a peer that cleared it in between makes waitAsync
 * return 'not-equal' at once, and this returns false (go on now);
 * otherwise `onWake` runs when the peer notifies and this returns true.
 */
function sleepOn(w: Int32Array, flag: number, onWake: () => void): boolean {
  // SYNC POINT with the other side's takeParkedFlag() + wakePeer(): waitAsync
  // compares the word with 1 and registers atomically, so a flag cleared
  // before registration is seen here and a notify after it wakes us.
  const r = waitAsync(w, flag, 1);
  if (!r.async) return false;
  void r.value.then(onWake);
  return true;
}

/**
 * The writing end of a ring. Exactly one per ring: the handle's local
 * `head` is the authority, so two producers would corrupt the stream.
 */
export class RingProducer {
  /** Size of the data area in bytes. */
  readonly capacity: number;
  /**
   * @internal The control block as Int32 words, for tests that drive the
   * park protocol by hand. Engines use the methods.
   */
  readonly controlWords: Int32Array;
  readonly #data: Uint8Array;
  readonly #dataOffset: number;
  readonly #mask: number;
  /** Bytes ever published, as Int32. The authority; never read back. */
  #head: number;
  /** Last tail loaded from shared memory, as Int32. */
  #tail: number;
  #ended: boolean;
  /** Length of the outstanding claim; -1 when none. */
  #claimed = -1;
  #closed = false;

  /**
   * Adopts the counters currently in the control block, so a handle can be
   * created on a fresh ring (after `initRing`) or on one already in use.
   */
  constructor(sab: ArrayBufferLike, controlOffset: number, dataOffset: number, capacity: number) {
    const end = openEnd(sab, controlOffset, dataOffset, capacity);
    this.capacity = capacity;
    this.controlWords = end.words;
    this.#data = end.data;
    this.#dataOffset = dataOffset;
    this.#mask = capacity - 1;
    // SYNC POINT with a previous producer in end(): an ended ring stays ended.
    const fin = Atomics.load(end.words, FIN_INDEX);
    if (fin !== 0 && fin !== 1) throw ringCorrupt(`fin ${fin} (expected 0 or 1)`);
    this.#head = end.head;
    this.#tail = end.tail;
    this.#ended = fin === 1;
  }

  /** True once `end()` was called (or the adopted ring was already ended). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Free space now, reloading the consumer's tail unless the ring is known to be empty. */
  writable(): number {
    const free = this.capacity - ((this.#head - this.#tail) >>> 0);
    return free === this.capacity ? free : this.#refreshFree();
  }

  /**
   * Copies as much of `src[start..end)` as fits and publishes it.
   * Returns the number of bytes written: less than asked when the ring
   * fills up, 0 when it is full. Call `consumerNeedsWake()` afterwards.
   */
  write(src: Uint8Array, start = 0, end = src.length): number {
    if (this.#ended) throw closedError('ring producer');
    if (this.#claimed >= 0) throw invalidState('RingProducer.write: a claim is outstanding; commit() it first');
    checkRange('RingProducer.write', start, end, src.length);
    let n = end - start;
    let free = this.capacity - ((this.#head - this.#tail) >>> 0);
    if (free < n) free = this.#refreshFree();
    if (n > free) n = free;
    if (n !== 0) this.#publish(src, start, n);
    return n;
  }

  /**
   * All or nothing: copies and publishes the whole of `src` if it fits,
   * else writes nothing and returns false. Call `consumerNeedsWake()`
   * after a true.
   */
  writeAll(src: Uint8Array): boolean {
    if (this.#ended) throw closedError('ring producer');
    if (this.#claimed >= 0) throw invalidState('RingProducer.writeAll: a claim is outstanding; commit() it first');
    const n = src.length;
    if (this.capacity - ((this.#head - this.#tail) >>> 0) < n && this.#refreshFree() < n) return false;
    if (n !== 0) this.#publish(src, 0, n);
    return true;
  }

  /**
   * Zero-copy write (see "Zero-copy lanes"): reserves the free bytes at
   * the head, contiguous in the data area, up to `max`, and returns a
   * writable view of them in place; null when the ring is full. Fill a
   * prefix, then `commit()` it.
   */
  claim(max: number): Uint8Array | null {
    if (this.#ended) throw closedError('ring producer');
    if (this.#claimed >= 0) throw invalidState('RingProducer.claim: a claim is already outstanding; commit() it first');
    checkLaneMax('RingProducer.claim', max);
    let free = this.capacity - ((this.#head - this.#tail) >>> 0);
    // A checked tail: the view below is bounded by it.
    if (free < max) free = this.#refreshFree();
    const pos = this.#head & this.#mask;
    const n = laneLength(pos, this.capacity, free, max);
    if (n === 0) return null;
    this.#claimed = n;
    return this.#data.subarray(pos, pos + n);
  }

  /**
   * Publishes the first `n` bytes of the outstanding claim (0 gives it up)
   * and ends it. Call `consumerNeedsWake()` afterwards.
   */
  commit(n: number): void {
    if (this.#ended) throw closedError('ring producer');
    checkLaneEnd('RingProducer.commit', n, this.#claimed, 'claim');
    this.#claimed = -1;
    if (n === 0) return;
    this.#head = (this.#head + n) | 0;
    // SYNC POINT with consumer in #refreshAvailable(): the caller wrote the
    // claimed bytes in place before this store says so (rule 1); ordered
    // before the load of consumerParked in consumerNeedsWake(), as in #publish.
    Atomics.store(this.controlWords, HEAD_INDEX, this.#head);
  }

  /**
   * Retires this handle without publishing anything: an outstanding claim
   * is void and every later write, claim or commit is SHMNET_ERR_CLOSED.
   * (To end the stream for the consumer, `end()` first.)
   */
  close(): void {
    this.#closed = true;
    this.#ended = true;
    this.#claimed = -1;
  }

  /** Copies `src[start..start+n)` (it fits) into the data area and publishes it. */
  #publish(src: Uint8Array, start: number, n: number): void {
    const capacity = this.capacity;
    const data = this.#data;
    const head = this.#head;
    const pos = head & this.#mask;
    const first = capacity - pos;
    if (n <= first) {
      copyBytes(data, pos, src, start, n, this.#dataOffset + pos);
    } else {
      copyBytes(data, pos, src, start, first, this.#dataOffset + pos);
      copyBytes(data, 0, src, start + first, n - first, this.#dataOffset);
    }
    this.#head = (head + n) | 0;
    // SYNC POINT with consumer in #refreshAvailable(): the bytes are in the
    // data area before head says so (rule 1); this store is also the
    // producer's half of the park handshake, ordered before the load of
    // consumerParked in consumerNeedsWake().
    Atomics.store(this.controlWords, HEAD_INDEX, this.#head);
  }

  /**
   * Call after publishing (write or end). If the consumer is parked, clears
   * its flag and returns true: the caller must ring the doorbell once.
   */
  consumerNeedsWake(): boolean {
    // Called after our head/fin store: see takeParkedFlag.
    return takeParkedFlag(this.controlWords, CONSUMER_PARKED_INDEX);
  }

  /**
   * The producer found the ring full and is about to wait. Sets
   * producerParked, then re-checks: returns true (flag cleared again) if
   * space appeared meanwhile, so the caller continues instead of waiting;
   * false means wait for the doorbell.
   */
  park(): boolean {
    const w = this.controlWords;
    // SYNC POINT with consumer in producerNeedsWake(): flag stored before the
    // tail re-check below (the consumer stores tail, then loads this flag).
    Atomics.store(w, PRODUCER_PARKED_INDEX, 1);
    if (this.#refreshFree() > 0) {
      // Unpark. Not ordering-critical: a consumer that still sees the 1 only
      // rings one spurious doorbell.
      Atomics.store(w, PRODUCER_PARKED_INDEX, 0);
      return true;
    }
    return false;
  }

  /**
   * After `park()` returned false: sleeps on producerParked (see `sleepOn`)
   * until the consumer clears and notifies it. False means it was already
   * cleared: go on now.
   */
  sleep(onWake: () => void): boolean {
    return sleepOn(this.controlWords, PRODUCER_PARKED_INDEX, onWake);
  }

  /** After `consumerNeedsWake()` returned true: notifies a consumer sleeping on this ring. */
  wakePeer(): void {
    Atomics.notify(this.controlWords, CONSUMER_PARKED_INDEX);
  }

  /** Releases this side's own `sleep()` (on close). */
  wakeSelf(): void {
    Atomics.notify(this.controlWords, PRODUCER_PARKED_INDEX);
  }

  /**
   * Marks end of stream after the last write. Idempotent. Call
   * `consumerNeedsWake()` afterwards.
   */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#claimed = -1;
    // SYNC POINT with consumer in finished(): fin is stored after the last head
    // store (rule 3), so a consumer that sees fin = 1 then loads the final head.
    Atomics.store(this.controlWords, FIN_INDEX, 1);
  }

  /**
   * Abortive close: the consumer drops what it has not read and reports a
   * reset. Allowed after end(). Call `consumerNeedsWake()` afterwards.
   */
  abort(): void {
    if (this.#closed) return;
    this.#ended = true;
    this.#claimed = -1;
    // SYNC POINT with consumer in aborted(): nothing is published after this.
    Atomics.store(this.controlWords, FIN_INDEX, FIN_ABORTED);
  }

  /** Reloads tail, checks it, returns the free space. */
  #refreshFree(): number {
    const head = this.#head;
    const oldUsed = (head - this.#tail) >>> 0;
    // SYNC POINT with consumer in read()/readBuffer(): the consumer stores tail
    // after copying bytes out (rule 2), so the space before it is free to reuse.
    const tail = Atomics.load(this.controlWords, TAIL_INDEX);
    const used = (head - tail) >>> 0;
    if (used > oldUsed) {
      // Also catches used > capacity, since oldUsed ≤ capacity.
      throw ringCorrupt(
        used > this.capacity
          ? `tail ${tail >>> 0} leaves ${used} bytes in use, more than capacity ${this.capacity} (head ${head >>> 0})`
          : `tail ${tail >>> 0} moved backwards from ${this.#tail >>> 0}`,
      );
    }
    this.#tail = tail;
    return this.capacity - used;
  }
}

/**
 * The reading end of a ring. Exactly one per ring: the handle's local
 * `tail` is the authority.
 */
export class RingConsumer {
  /** Size of the data area in bytes. */
  readonly capacity: number;
  /** @internal As on `RingProducer`: for tests only. */
  readonly controlWords: Int32Array;
  readonly #data: Uint8Array;
  readonly #dataOffset: number;
  readonly #mask: number;
  /** Bytes ever consumed, as Int32. The authority; never read back. */
  #tail: number;
  /** Last head loaded from shared memory (checked), as Int32. */
  #head: number;
  #finSeen = false;
  /** The head loaded right after fin was first seen; head may not change after it. */
  #finHead = 0;
  /** Length of the outstanding borrow; -1 when none. */
  #borrowed = -1;
  #closed = false;

  /** Adopts the counters currently in the control block (see `RingProducer`). */
  constructor(sab: ArrayBufferLike, controlOffset: number, dataOffset: number, capacity: number) {
    const end = openEnd(sab, controlOffset, dataOffset, capacity);
    this.capacity = capacity;
    this.controlWords = end.words;
    this.#data = end.data;
    this.#dataOffset = dataOffset;
    this.#mask = capacity - 1;
    this.#tail = end.tail;
    this.#head = end.head;
  }

  /** Bytes readable now (always reloads head). */
  readable(): number {
    return this.#refreshAvailable();
  }

  /**
   * The next read's source address mod 8. A `read()` into a target whose
   * `byteOffset + offset` has the same value mod 8 copies at word speed
   * without the bounce buffer (see "Copy speed").
   */
  readPhase(): number {
    return (this.#dataOffset + (this.#tail & this.#mask)) & 7;
  }

  /**
   * Copies up to `max` bytes into `target[offset..]`, frees their space and
   * returns how many were copied (0 when empty). Call
   * `producerNeedsWake()` afterwards.
   */
  read(target: Uint8Array, offset = 0, max: number = target.length - offset): number {
    if (this.#borrowed >= 0 || this.#closed) this.#refuseCopy('read');
    if (offset >>> 0 !== offset || max >>> 0 !== max || offset > target.length) {
      throw outOfRange(`RingConsumer.read: offset ${offset} / max ${max} out of range for a target of ${target.length} bytes`);
    }
    if (max > target.length - offset) max = target.length - offset;
    let n = (this.#head - this.#tail) >>> 0;
    if (n < max) n = this.#refreshAvailable();
    if (n > max) n = max;
    if (n === 0) return 0;
    const tail = this.#tail;
    const pos = tail & this.#mask;
    const first = this.capacity - pos;
    if (n <= first) {
      copyBytes(target, offset, this.#data, pos, n, this.#dataOffset + pos);
    } else {
      copyBytes(target, offset, this.#data, pos, first, this.#dataOffset + pos);
      copyBytes(target, offset + first, this.#data, 0, n - first, this.#dataOffset);
    }
    this.#tail = (tail + n) | 0;
    // SYNC POINT with producer in #refreshFree(): the bytes were copied out
    // before tail frees their space (rule 2); also the consumer's half of the
    // park handshake, ordered before the load in producerNeedsWake().
    Atomics.store(this.controlWords, TAIL_INDEX, this.#tail);
    return n;
  }

  /**
   * Takes up to `max` bytes as a new Buffer (null when empty). Call
   * `producerNeedsWake()` afterwards.
   */
  readBuffer(max: number): Buffer | null {
    if (this.#borrowed >= 0 || this.#closed) this.#refuseCopy('readBuffer');
    if (max >>> 0 !== max) throw outOfRange(`RingConsumer.readBuffer: max ${max} must be an integer in [0, 2^32)`);
    let n = (this.#head - this.#tail) >>> 0;
    if (n < max) n = this.#refreshAvailable();
    if (n > max) n = max;
    if (n === 0) return null;
    const tail = this.#tail;
    const pos = tail & this.#mask;
    let out: Buffer;
    if (n < BOUNCE_MIN) {
      out = Buffer.allocUnsafe(n);
    } else {
      // Start the result at the ring position's alignment mod 8, so both
      // legs of the copy below run at word speed (see "Copy speed").
      const raw = Buffer.allocUnsafe(n + 7);
      const s = (this.#dataOffset + pos - raw.byteOffset) & 7;
      out = raw.subarray(s, s + n);
    }
    const data = this.#data;
    const first = this.capacity - pos;
    if (n <= first) {
      out.set(data.subarray(pos, pos + n));
    } else {
      out.set(data.subarray(pos, this.capacity));
      out.set(data.subarray(0, n - first), first);
    }
    this.#tail = (tail + n) | 0;
    // SYNC POINT with producer in #refreshFree(): as in read().
    Atomics.store(this.controlWords, TAIL_INDEX, this.#tail);
    return out;
  }

  /**
   * Zero-copy read (see "Zero-copy lanes"): a readable view, in place, of
   * the published bytes at the tail that are contiguous in the data area,
   * up to `max`; null when the ring is empty. Read a prefix, then
   * `release()` it.
   */
  borrow(max: number = this.capacity): Uint8Array | null {
    if (this.#closed) throw closedError('ring consumer');
    if (this.#borrowed >= 0) throw invalidState('RingConsumer.borrow: a borrow is already held; release() it first');
    checkLaneMax('RingConsumer.borrow', max);
    let avail = (this.#head - this.#tail) >>> 0;
    // A checked head: the view below is bounded by it.
    if (avail < max) avail = this.#refreshAvailable();
    const pos = this.#tail & this.#mask;
    const n = laneLength(pos, this.capacity, avail, max);
    if (n === 0) return null;
    this.#borrowed = n;
    return this.#data.subarray(pos, pos + n);
  }

  /**
   * Frees the first `n` bytes of the outstanding borrow (0 frees nothing)
   * and ends it. Call `producerNeedsWake()` afterwards.
   */
  release(n: number): void {
    if (this.#closed) throw closedError('ring consumer');
    checkLaneEnd('RingConsumer.release', n, this.#borrowed, 'borrow');
    this.#borrowed = -1;
    if (n === 0) return;
    this.#tail = (this.#tail + n) | 0;
    // SYNC POINT with producer in #refreshFree(): the caller is done with
    // the released bytes before this store frees them (rule 2); ordered
    // before the load in producerNeedsWake(), as in read().
    Atomics.store(this.controlWords, TAIL_INDEX, this.#tail);
  }

  /** Retires this handle: an outstanding borrow is void and every later read, borrow or release is SHMNET_ERR_CLOSED. */
  close(): void {
    this.#closed = true;
    this.#borrowed = -1;
  }

  #refuseCopy(what: string): never {
    if (this.#closed) throw closedError('ring consumer');
    throw invalidState(`RingConsumer.${what}: a borrow is held; release() it first`);
  }

  /**
   * Call after freeing space (read/readBuffer). If the producer is parked,
   * clears its flag and returns true: the caller must ring the doorbell once.
   */
  producerNeedsWake(): boolean {
    // Called after our tail store: see takeParkedFlag.
    return takeParkedFlag(this.controlWords, PRODUCER_PARKED_INDEX);
  }

  /**
   * The consumer found the ring empty and is about to wait. Sets
   * consumerParked, then re-checks head and fin: returns true (flag
   * cleared again) if data or end of stream is visible now, so the caller
   * continues instead of waiting; false means wait for the doorbell.
   */
  park(): boolean {
    const w = this.controlWords;
    // SYNC POINT with producer in consumerNeedsWake(): flag stored before the
    // head/fin re-check below (the producer stores head/fin, then loads this flag).
    Atomics.store(w, CONSUMER_PARKED_INDEX, 1);
    if (this.#refreshAvailable() > 0 || this.#loadFin()) {
      // Unpark. Not ordering-critical: a producer that still sees the 1 only
      // rings one spurious doorbell.
      Atomics.store(w, CONSUMER_PARKED_INDEX, 0);
      return true;
    }
    return false;
  }

  /** After `park()` returned false: sleeps on consumerParked, as `RingProducer.sleep()`. */
  sleep(onWake: () => void): boolean {
    return sleepOn(this.controlWords, CONSUMER_PARKED_INDEX, onWake);
  }

  /** After `producerNeedsWake()` returned true: notifies a producer sleeping on this ring. */
  wakePeer(): void {
    Atomics.notify(this.controlWords, PRODUCER_PARKED_INDEX);
  }

  /** Releases this side's own `sleep()` (on close). */
  wakeSelf(): void {
    Atomics.notify(this.controlWords, CONSUMER_PARKED_INDEX);
  }

  /**
   * Whether the producer has published end of stream, bytes left or not.
   * Never throws: a corrupt `fin` counts as not ended (the next read
   * reports the corruption).
   */
  endPublished(): boolean {
    // SYNC POINT with producer in end(): FIN is published before the
    // producer signals its close any other way (closing its control
    // socket, storing a channel's `closed` word), so an orderly close
    // shows it here.
    return Atomics.load(this.controlWords, FIN_INDEX) === 1;
  }

  /**
   * Withdraws a park() that is still waiting (the caller polls instead).
   * Not ordering-critical: a producer that saw the flag first rings one
   * spurious doorbell; one that sees it cleared rings none, and the
   * caller's next park() re-checks again.
   */
  unpark(): void {
    Atomics.store(this.controlWords, CONSUMER_PARKED_INDEX, 0);
  }

  /**
   * True when the producer has ended the stream and every byte before the
   * end has been read.
   */
  finished(): boolean {
    const w = this.controlWords;
    if (!this.#finSeen) {
      if (!this.#loadFin()) return false;
      // fin before head (rule 3): this head is the final one.
      this.#refreshAvailable();
      this.#finSeen = true;
      this.#finHead = this.#head;
    }
    if (this.#tail !== this.#finHead) return false;
    // Drained: check the producer kept its promise.
    // SYNC POINT with producer in end(): fin, once 1, stays 1.
    const fin = Atomics.load(w, FIN_INDEX);
    if (fin === FIN_ABORTED) return false;
    if (fin !== 1) throw ringCorrupt(`fin changed from 1 to ${fin} after end of stream`);
    // SYNC POINT with producer in write(): no head store may follow fin.
    const head = Atomics.load(w, HEAD_INDEX);
    if (head !== this.#finHead) throw ringCorrupt(`head moved from ${this.#finHead >>> 0} to ${head >>> 0} after end of stream`);
    return true;
  }

  /** True once the producer reset the stream (abort()). */
  aborted(): boolean {
    // SYNC POINT with producer in abort().
    return Atomics.load(this.controlWords, FIN_INDEX) === FIN_ABORTED;
  }

  #loadFin(): boolean {
    // SYNC POINT with producer in end(): fin = 1 means the last head store
    // happened before; finished() loads head after this.
    const fin = Atomics.load(this.controlWords, FIN_INDEX);
    if (fin === 0 || fin === FIN_ABORTED) return false;
    if (fin !== 1) throw ringCorrupt(`fin ${fin} (expected 0 or 1)`);
    return true;
  }

  /** Reloads head, checks it, returns the bytes available. */
  #refreshAvailable(): number {
    const tail = this.#tail;
    const oldUsed = (this.#head - tail) >>> 0;
    // SYNC POINT with producer in write(): the producer stores head after
    // copying the bytes in (rule 1), so everything before it is readable.
    const head = Atomics.load(this.controlWords, HEAD_INDEX);
    const used = (head - tail) >>> 0;
    if (used > this.capacity) {
      throw ringCorrupt(`head ${head >>> 0} leaves ${used} bytes in use, more than capacity ${this.capacity} (tail ${tail >>> 0})`);
    }
    if (used < oldUsed) throw ringCorrupt(`head ${head >>> 0} moved backwards from ${this.#head >>> 0}`);
    if (this.#finSeen && head !== this.#finHead) {
      throw ringCorrupt(`head moved from ${this.#finHead >>> 0} to ${head >>> 0} after end of stream`);
    }
    this.#head = head;
    return used;
  }
}
