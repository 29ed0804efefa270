/**
 * The ring pump: moves a Conn's bytes between the stream and two SPSC
 * rings (../ring/ring.ts), one written and one read by each end. The
 * transport around it supplies only a small signalling object
 * (`RingSignals`): how to wake the peer, how to sleep until woken, whether
 * the peer has closed, and its own lifecycle. Two transports use it:
 *
 *   - two processes (../net/shm-engine.ts): the doorbell is a byte on the
 *     control socket, whose close also says the peer is gone;
 *   - two threads (../channel/channel-engine.ts): the doorbell is the
 *     rings' parked words (`Atomics.notify`/`waitAsync`), liveness comes
 *     from probes.
 *
 * ## One pump
 *
 * Everything happens in `#pump()`, entered only through `#enter()`, which
 * alone decides the read budget: flush the pending write into the TX ring,
 * drain the RX ring into the stream (READ_CHUNK per pushed Buffer), wake
 * the peer if it parked, then decide how to wait:
 *
 *   - nothing to wait for (no pending write, the stream does not want data):
 *     stop; the next _read/_write calls pump again;
 *   - the drain stopped at DRAIN_BUDGET with data left: pump again on the
 *     next turn, after timers and I/O had theirs;
 *   - waiting, and the wait policy (wait-policy.ts) says this wait is still
 *     worth polling: poll again on the next turn of the event loop
 *     (setImmediate). The policy spins `spin` µs for ordinary waits and,
 *     for a reply to what we wrote, as long as replies usually take, if
 *     spinning has been seen to answer sooner than parking;
 *   - otherwise park: set the parked flag(s) in the ring, re-check (the
 *     ring's park() closes the lost-wake-up race), and `signals.sleep()`
 *     until the peer rings. A parked Conn costs no CPU.
 *
 * `write()` pumps the write side only: it never pushes 'data' from inside a
 * write (a net.Socket never does, and a stream user such as http2's
 * JSStreamSocket breaks if it happens).
 *
 * ## States
 *
 * `#state` is the lifecycle:
 *
 * ```
 *   FAILED ─────────────────────────────┐   (rings corrupt before the pump
 *   OPEN ──peerLeft(), FIN in RX──► PEER_CLOSED        existed)
 *     │                                 │   │
 *     └──────────── destroy() ──────────┴───┴──► CLOSED
 * ```
 *
 *   - OPEN: both directions move.
 *   - PEER_CLOSED: the peer closed its end in order (its FIN is in RX):
 *     what it left is still drained, writes fail, nobody wakes us.
 *     `peerLeft()` without FIN destroys the Conn with PEER_GONE instead.
 *   - FAILED: the rings were corrupt before the pump existed; writes fail
 *     with that error and the first pump destroys the Conn.
 *   - CLOSED: destroy() ran; FIN is published, the transport released.
 *
 * Besides the lifecycle: at most one pending write (`#wChunks` + `#wCb`);
 * the lanes (below: `#claimHeld`, `#wantClaim`, `#borrowing`, `#borrowHeld`,
 * `#wantBorrow`);
 * the read side (`#wantRead`: the stream asked and push() did not say
 * stop; `#rxEnded`: push(null) done); and scheduling. `#pumping` guards
 * re-entry: push() may call _read() → read() → #enter() from inside the
 * drain; that call only sets `#again`, and the outer loop runs once more.
 * Invariants (`checkInvariants()`; run after every pump when
 * SHMNET_DEBUG_PUMP is set, and by the tests):
 *
 *   1. `#wChunks === null` ⇔ `#wCb === null`; a pending write exists only in OPEN;
 *   2. `#rxEnded` ⇒ `!#wantRead`;
 *   3. CLOSED ⇒ no scheduled turn;
 *   4. outside `#pump()`, `#pumping` and `#again` are false;
 *   5. a claim or a borrow is held only while not CLOSED; a borrow only in borrowing mode.
 *
 * ## Lanes
 *
 * The Conn's zero-copy lanes (see conn.ts `claim`/`borrow`) are the ring's
 * (../ring/ring.ts "Zero-copy lanes") plus what a stream needs around them:
 *
 *   - Writer: a claim is refused while a stream write is pending (the
 *     bytes would overtake it); a write() that arrives while a claim is
 *     held waits behind it and is flushed by commit(). commit() wakes a
 *     parked reader as a write does. A claim that finds the ring full
 *     returns null and the Conn emits 'claimable' once there is space.
 *   - Reader: `#borrowing` stops the drain: nothing is pushed or handed to
 *     onread while it is set (the Conn sets it on the first borrow and
 *     clears it on resume()). A borrow that finds the ring empty returns
 *     null and the Conn emits 'borrowable' once bytes arrive; at the
 *     peer's FIN, after the last byte was released, it ends the stream
 *     ('end') instead.
 *
 * ## Hot path
 *
 * `write()`, `tryWrite()` and the drains run per chunk. They touch only
 * this class's fields, allocate nothing but the pushed Buffer (nothing at
 * all in onread mode, where the drain copies into the caller's buffer and
 * calls its callback instead of pushing; see onread.ts), create no
 * closure, and call the signals object only when the ring says the peer
 * is parked.
 */
import { closedError, codes, connReset, invalidState, ShmnetError } from '../errors.js';
import type { RingConsumer, RingProducer } from '../ring/ring.js';
import type { Conn } from './conn.js';
import type { Engine, Lanes, RingStats, Transport } from './engine.js';
import type { OnreadTarget } from './onread.js';
import { readForPush } from './receive-pool.js';
import { WaitPolicy } from './wait-policy.js';

/** Largest Buffer pushed to the stream per read. */
export const READ_CHUNK = 64 * 1024;
/**
 * Most bytes one pump pushes before it lets the event loop turn (timers,
 * other I/O), as libuv bounds what it reads from a socket per poll: a peer
 * that writes as fast as this end reads must not starve its thread.
 */
export const DRAIN_BUDGET = 16 * READ_CHUNK;

function isRingCorrupt(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === codes.RING_CORRUPT;
}

/** µs. Long enough to cover a peer's turn of the event loop in a request/response exchange. */
export const DEFAULT_SPIN_US = 100;
export const MAX_SPIN_US = 10_000_000;

const OPEN = 0;
const PEER_CLOSED = 1;
const FAILED = 2;
const CLOSED = 3;

const DEBUG = process.env.SHMNET_DEBUG_PUMP !== undefined;

/** What a ring pump asks of its transport. Called on the slow path only. */
export interface RingSignals {
  /** The peer parked (the ring cleared its flag) or FIN was published: wake it. */
  wake(): void;
  /**
   * The parked flag(s) are set and re-checked: arrange for `pump.onWake()`
   * when the peer rings. True if the wake-up already happened (pump again).
   */
  sleep(read: boolean, write: boolean): boolean;
  /**
   * Before waiting: whether the peer has closed its end in a way only a
   * poll can see; if so the transport has called `pump.peerLeft()`.
   */
  pollPeerClosed(): boolean;
  /** After every pump: whether this end now waits for data or space. */
  waiting(on: boolean): void;
  /** destroy() after FIN is published: release the transport; `graceful` when both directions ended normally. */
  release(graceful: boolean): void;
  ref(): void;
  unref(): void;
  /** What stats() reports besides the ring counters. */
  stats(): Record<string, string | number | boolean>;
}

export interface RingPumpInit {
  conn: Conn;
  transport: Transport;
  /** The ring this end writes. */
  tx: RingProducer;
  /** The ring this end reads. */
  rx: RingConsumer;
  /** µs to poll before parking. */
  spin: number;
  /** What error messages call the Conn: 'connection' or 'channel'. */
  noun: string;
  /** Keep the peak occupancies for stats() (one more head load per pushed Buffer). */
  trackPeaks: boolean;
  /** The rings were corrupt before the pump existed (the tx/rx given are spares). */
  startError: Error | null;
}

export class RingPump implements Engine, Lanes {
  readonly transport: Transport;
  /** The zero-copy lanes are this pump's own (see the top). */
  readonly lanes: Lanes = this;
  readonly #conn: Conn;
  readonly #tx: RingProducer;
  readonly #rx: RingConsumer;
  readonly #capacity: number;
  #signals: RingSignals | null = null;
  /** How long each wait polls before parking (wait-policy.ts). */
  readonly #policy: WaitPolicy;
  readonly #noun: string;
  readonly #trackPeaks: boolean;
  readonly #startError: Error | null;
  /** onread mode: the drain copies into its buffer instead of pushing Buffers. */
  readonly #onread: OnreadTarget | null;

  #state: number;

  // The pending write: chunks[index] from offset on, then cb.
  #wChunks: Buffer[] | null = null;
  #wIndex = 0;
  #wOffset = 0;
  #wCb: ((err?: Error | null) => void) | null = null;

  #wantRead = false;
  #rxEnded = false;

  // The lanes (see the top).
  #claimHeld = false;
  /** A claim found the ring full: emit 'claimable' when space appears. */
  #wantClaim = false;
  /** Reading through borrow(): the drain pushes nothing. */
  #borrowing = false;
  #borrowHeld = false;
  /** A borrow found the ring empty: emit 'borrowable' when bytes (or the end) arrive. */
  #wantBorrow = false;
  #pumping = false;
  #again = false;
  #immediate: NodeJS.Immediate | null = null;
  /** The read side parked and waits for the doorbell. */
  #readParked = false;
  /** Bytes this turn of the event loop may still push (see #enter). */
  #budget = DRAIN_BUDGET;
  /** The last drain stopped at the budget with data left. */
  #yielded = false;
  readonly #runPump = (): void => {
    this.#immediate = null;
    this.#enter(true, true);
  };

  // counters for stats()
  #chunksIn = 0;
  #chunksOut = 0;
  #parks = 0;
  #spinTurns = 0;
  #peakRx = 0;
  #peakTx = 0;

  constructor(init: RingPumpInit) {
    this.transport = init.transport;
    this.#conn = init.conn;
    this.#tx = init.tx;
    this.#rx = init.rx;
    this.#capacity = init.tx.capacity;
    this.#policy = new WaitPolicy({ baseUs: init.spin });
    this.#noun = init.noun;
    this.#trackPeaks = init.trackPeaks;
    this.#startError = init.startError;
    this.#onread = init.conn._onread;
    this.#state = init.startError === null ? OPEN : FAILED;
  }

  /** Connects the transport's signals and starts: data may already be waiting (the peer went first). */
  start(signals: RingSignals): void {
    this.#signals = signals;
    this.#schedule();
  }

  // ---- called by the transport (slow path) --------------------------------

  /** A doorbell rang or a sleep ended: move what can move now, with a fresh budget. */
  onWake(): void {
    this.#enter(true, true);
  }

  /**
   * The peer closed its end (its socket closed, its `closed` word is set,
   * its thread is gone). With its FIN in the RX ring the close is orderly:
   * what is left is still drained, a pending write fails (the peer reads
   * no more). Without FIN the peer died: the Conn is destroyed with
   * `SHMNET_ERR_PEER_GONE` and `abruptMessage`. Only the first call counts.
   */
  peerLeft(abruptMessage: string): void {
    if (this.#state !== OPEN) return;
    if (!this.#rx.endPublished()) {
      this.#state = PEER_CLOSED;
      this.#conn.destroy(this.#rx.aborted() ? connReset(`the peer reset the ${this.#noun}`) : new ShmnetError(codes.PEER_GONE, abruptMessage));
      return;
    }
    this.#state = PEER_CLOSED;
    if (this.#wChunks !== null) this.#failPendingWrite();
    // What the peer left is ours to read: on the next turn (this may run inside a write()).
    else this.#schedule();
  }

  // ---- Engine ----------------------------------------------------------------

  write(chunks: Buffer[], cb: (err?: Error | null) => void): void {
    if (this.#state !== OPEN) {
      cb(this.#refusal());
      return;
    }
    // Fast path: one chunk that fits, and no claim to wait behind.
    if (chunks.length === 1 && !this.#claimHeld) {
      const chunk = chunks[0]!;
      let n: number;
      try {
        n = this.#tx.write(chunk);
      } catch (err) {
        this.#conn.destroy(err as Error);
        cb(err as Error);
        return;
      }
      if (n > 0) {
        this.#wrote(n);
        // SYNC POINT with the consumer's park(): after publishing, even a
        // partial write wakes a parked reader; those bytes are published
        // now, and if it never hears of them both sides wait forever.
        if (this.#tx.consumerNeedsWake()) this.#signals!.wake();
      }
      if (n === chunk.length) {
        cb();
        return;
      }
      this.#wOffset = n;
    } else {
      this.#wOffset = 0;
    }
    this.#wChunks = chunks;
    this.#wIndex = 0;
    this.#wCb = cb;
    // Write side only: never push 'data' from inside write() (see the top).
    this.#enter(false, false);
  }

  tryWrite(chunk: Uint8Array): boolean {
    if (this.#state !== OPEN || this.#wChunks !== null || this.#claimHeld) return false;
    if (!this.#tx.writeAll(chunk)) return false;
    this.#wrote(chunk.length);
    // SYNC POINT with the consumer's park(): after publishing, as in write().
    if (this.#tx.consumerNeedsWake()) this.#signals!.wake();
    return true;
  }

  read(): void {
    if (this.#rxEnded || this.#state === CLOSED) return;
    this.#wantRead = true;
    if (this.#onread === null) {
      this.#enter(false, true);
      return;
    }
    // onread: deliver on a turn of our own, never inside resume()/read()
    // (a handle's readStart() does not call back synchronously either).
    if (this.#readParked) {
      this.#readParked = false;
      this.#rx.unpark();
    }
    this.#schedule();
  }

  readStop(): void {
    this.#wantRead = false;
  }

  final(cb: (err?: Error | null) => void): void {
    if (this.#state === FAILED || this.#state === CLOSED) {
      cb(this.#refusal());
      return;
    }
    try {
      // An outstanding claim is void from here (its commit is SHMNET_ERR_CLOSED).
      this.#claimHeld = false;
      this.#wantClaim = false;
      this.#tx.end();
    } catch (err) {
      cb(err as Error);
      return;
    }
    // FIN is always rung: cheap once, and the peer may be parked or paused.
    // Its flag is cleared first, as after any publish: a thread about to
    // sleep on it then finds it clear instead of missing the wake-up.
    this.#tx.consumerNeedsWake();
    this.#signals!.wake();
    cb();
  }

  /** Abortive close: the peer drops what it has not read and reports a reset; destroy() follows. */
  reset(): void {
    if (this.#state === CLOSED) return;
    this.#tx.abort();
    // Rung as FIN is (see final()).
    this.#tx.consumerNeedsWake();
    this.#signals?.wake();
  }

  destroy(err: Error | null): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    if (this.#immediate) {
      clearImmediate(this.#immediate);
      this.#immediate = null;
    }
    this.#claimHeld = false;
    this.#borrowHeld = false;
    this.#wantClaim = false;
    this.#wantBorrow = false;
    const graceful = err === null && this.#rxEnded && this.#tx.ended;
    // A destroyed Conn still ends its stream, so the peer sees 'end' after
    // the bytes already published (as a TCP close sends FIN).
    if (!this.#tx.ended) {
      try {
        this.#tx.end();
      } catch {
        // a corrupt ring: release() still tells the peer
      }
    }
    this.#signals?.release(graceful);
    const cb = this.#wCb;
    this.#wChunks = null;
    this.#wCb = null;
    if (cb) cb(err ?? new ShmnetError(codes.SOCKET_CLOSED, `the ${this.#noun} was destroyed`));
  }

  // ---- lanes (the Conn checks the caller's side first; see the top) -----------

  /**
   * A writable view of free TX bytes, contiguous, up to `max`; null when
   * the ring is full ('claimable' follows) or the ring turned out corrupt
   * (the Conn is destroyed with that error).
   */
  claim(max: number): Uint8Array | null {
    if (this.#state === CLOSED) throw closedError(this.#noun);
    if (this.#state !== OPEN) throw this.#refusal();
    if (this.#wChunks !== null) throw invalidState(`claim: a stream write is pending on the ${this.#noun}; wait for 'drain' (or the write's callback)`);
    let view: Uint8Array | null;
    try {
      view = this.#tx.claim(max);
    } catch (err) {
      if (!isRingCorrupt(err)) throw err;
      this.#conn.destroy(err as Error);
      return null;
    }
    if (view === null) {
      this.#wantClaim = true;
      // On a turn of its own: 'claimable' never comes from inside claim().
      this.#schedule();
    } else {
      this.#claimHeld = true;
      this.#wantClaim = false;
    }
    return view;
  }

  /** Publishes the first `n` bytes of the claim, wakes a parked reader, then flushes a write that waited behind it. */
  commit(n: number): void {
    if (this.#state === CLOSED) throw closedError(this.#noun);
    if (!this.#claimHeld) {
      this.#tx.commit(n); // throws: the ring says what is wrong
      return;
    }
    this.#tx.commit(n);
    this.#claimHeld = false;
    if (n > 0) {
      this.#wrote(n);
      // SYNC POINT with the consumer's park(): after publishing, as in write().
      if (this.#tx.consumerNeedsWake()) this.#signals!.wake();
    }
    if (this.#wChunks !== null) this.#enter(false, false);
  }

  /**
   * A readable view of RX bytes in place, contiguous, up to `max`; null
   * when none are there yet ('borrowable' follows), at the end of stream
   * ('end' follows), or when the ring turned out corrupt (the Conn is
   * destroyed with that error). Enters borrowing mode: the drain stops.
   */
  borrow(max: number | undefined): Uint8Array | null {
    if (this.#state === CLOSED) throw closedError(this.#noun);
    if (this.#state === FAILED) throw this.#startError!;
    if (this.#borrowHeld) throw invalidState('borrow: a borrow is already held; release() it first');
    this.#borrowing = true;
    if (this.#rxEnded) return null;
    let view: Uint8Array | null;
    try {
      view = this.#rx.borrow(max);
      if (view === null && this.#rx.finished()) {
        this.#rxEnded = true;
        this.#wantRead = false;
        this.#wantBorrow = false;
        this.#conn._pushEnd();
        return null;
      }
    } catch (err) {
      if (!isRingCorrupt(err)) throw err;
      this.#conn.destroy(err as Error);
      return null;
    }
    if (view === null) {
      this.#wantBorrow = true;
      this.#schedule();
    } else {
      this.#borrowHeld = true;
      this.#wantBorrow = false;
      this.#policy.received();
    }
    return view;
  }

  /** Frees the first `n` bytes of the borrow and wakes a writer parked on a full ring. */
  release(n: number): void {
    if (this.#state === CLOSED) throw closedError(this.#noun);
    if (!this.#borrowHeld) {
      this.#rx.release(n); // throws: the ring says what is wrong
      return;
    }
    this.#rx.release(n);
    this.#borrowHeld = false;
    if (n > 0) {
      this.#chunksIn++;
      this.#conn._countRead(n);
      try {
        // SYNC POINT with the producer's park(): after freeing space, a parked writer is woken.
        if (this.#rx.producerNeedsWake()) this.#signals!.wake();
      } catch (err) {
        this.#conn.destroy(err as Error);
      }
    }
  }

  /** Enters borrowing mode (the Conn's first borrow): the drain stops delivering. */
  startBorrowing(): void {
    this.#borrowing = true;
  }

  /** Leaves borrowing mode (resume()): the drain delivers again. Refused while a borrow is held. */
  stopBorrowing(): void {
    if (!this.#borrowing) return;
    if (this.#borrowHeld) throw invalidState('resume: a borrow is held; release() it first');
    this.#borrowing = false;
    this.#wantBorrow = false;
    if (this.#state !== CLOSED) this.#schedule();
  }

  ref(): void {
    this.#signals?.ref();
  }

  unref(): void {
    this.#signals?.unref();
  }

  stats(): RingStats {
    const closed = this.#state === CLOSED;
    const stats: RingStats = {
      ...this.#signals?.stats(),
      ringSize: this.#capacity,
      chunksIn: this.#chunksIn,
      chunksOut: this.#chunksOut,
      parks: this.#parks,
      parked: this.#readParked,
      spinTurns: this.#spinTurns,
      ...this.#policy.stats(),
      rxOccupancy: closed ? 0 : this.#occupancy(true),
      txOccupancy: closed ? 0 : this.#occupancy(false),
    };
    if (this.#trackPeaks) {
      stats.peakRxOccupancy = this.#peakRx;
      stats.peakTxOccupancy = this.#peakTx;
    }
    return stats;
  }

  /**
   * Throws naming the first broken invariant (see the top). Cheap; run
   * after every pump when SHMNET_DEBUG_PUMP is set, and by the tests.
   */
  checkInvariants(): void {
    const fail = (what: string): never => {
      throw new Error(`ring pump invariant broken: ${what}`);
    };
    if ((this.#wChunks === null) !== (this.#wCb === null)) fail('pending chunks and callback go together');
    if (this.#wChunks !== null && this.#state !== OPEN) fail('a pending write exists only while open');
    if ((this.#claimHeld || this.#borrowHeld) && this.#state === CLOSED) fail('a closed pump holds no view');
    if (this.#borrowHeld && !this.#borrowing) fail('a borrow is held only in borrowing mode');
    if (this.#rxEnded && this.#wantRead) fail('no read is wanted after the end');
    if (this.#state === CLOSED && this.#immediate !== null) fail('a closed pump schedules nothing');
    if (!this.#pumping && this.#again) fail('no re-entry is pending outside a pump');
  }

  // ---- internals -------------------------------------------------------------

  /** Reads an occupancy for stats(); NaN when the peer has corrupted the ring (the pump reports that). */
  #occupancy(rx: boolean): number {
    try {
      return rx ? this.#rx.readable() : this.#capacity - this.#tx.writable();
    } catch {
      return NaN;
    }
  }

  /** Why a write or final() is refused, by state. */
  #refusal(): Error {
    if (this.#state === FAILED) return this.#startError!;
    if (this.#state === PEER_CLOSED) return new ShmnetError(codes.SOCKET_CLOSED, `the peer has closed the ${this.#noun}; it reads no more`);
    return new ShmnetError(codes.SOCKET_CLOSED, `the ${this.#noun} is closed`);
  }

  #wrote(n: number): void {
    this.#chunksOut++;
    this.#conn._countWritten(n);
    // A request went out while we slept: poll for its answer if that has
    // paid off before (the policy knows), instead of waiting for a bell.
    if (this.#policy.wrote() && this.#readParked) {
      this.#readParked = false;
      this.#rx.unpark();
      this.#schedule();
    }
  }

  #failPendingWrite(): void {
    const cb = this.#wCb;
    this.#wChunks = null;
    this.#wCb = null;
    const err = new ShmnetError(codes.SOCKET_CLOSED, `the peer closed the ${this.#noun} before reading everything written`);
    if (cb) cb(err);
    this.#conn.destroy(err);
  }

  #schedule(): void {
    if (this.#immediate === null && this.#state !== CLOSED) this.#immediate = setImmediate(this.#runPump);
  }

  /**
   * The one entry point of the pump, and the one place that decides the
   * read budget. `turn`: the event loop called us (a scheduled turn, a
   * doorbell), so the budget refills. Otherwise (from _read() or write())
   * it does not: in flowing mode Readable calls _read() again from inside
   * each push, so a budget refilled there would never run out; a _read()
   * that finds it spent waits for the next turn. `drain` false: only flush
   * the pending write (see write()).
   */
  #enter(turn: boolean, drain: boolean): void {
    if (turn) this.#budget = DRAIN_BUDGET;
    else if (drain && this.#budget <= 0) {
      this.#schedule();
      return;
    }
    this.#pump(drain);
  }

  #pump(drain: boolean): void {
    if (this.#state >= FAILED) {
      if (this.#state === FAILED) this.#conn.destroy(this.#startError!);
      return;
    }
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    if (this.#rx.aborted()) {
      this.#conn.destroy(connReset(`the peer reset the ${this.#noun}`));
      return;
    }
    this.#pumping = true;
    this.#yielded = false;
    this.#readParked = false;
    let progress = false;
    try {
      do {
        this.#again = false;
        if (this.#wChunks !== null && !this.#claimHeld && this.#flushWrite()) progress = true;
        if (this.#wantClaim) this.#offerClaim();
        if (!this.#borrowing) {
          if (drain && this.#wantRead && this.#drain()) progress = true;
        } else if (drain && this.#wantBorrow) {
          this.#offerBorrow();
        }
      } while (this.#again && this.#state !== CLOSED);
    } catch (err) {
      this.#pumping = false;
      this.#again = false;
      this.#conn.destroy(err as Error);
      return;
    }
    this.#pumping = false;
    this.#again = false;
    if (this.#state !== CLOSED) this.#wait(progress);
    if (DEBUG) this.checkInvariants();
  }

  /** Copies as much of the pending write as fits; true if any byte moved. */
  #flushWrite(): boolean {
    const chunks = this.#wChunks!;
    const tx = this.#tx;
    let moved = false;
    while (this.#wIndex < chunks.length) {
      const chunk = chunks[this.#wIndex]!;
      const n = tx.write(chunk, this.#wOffset);
      if (n > 0) {
        moved = true;
        this.#wrote(n);
        this.#wOffset += n;
      }
      if (this.#wOffset < chunk.length) break;
      this.#wIndex++;
      this.#wOffset = 0;
    }
    if (moved) {
      if (this.#trackPeaks) {
        const used = this.#capacity - tx.writable();
        if (used > this.#peakTx) this.#peakTx = used;
      }
      // SYNC POINT with the consumer's park(): after publishing, as in write().
      if (tx.consumerNeedsWake()) this.#signals!.wake();
    }
    if (this.#wIndex === chunks.length) {
      const cb = this.#wCb!;
      this.#wChunks = null;
      this.#wCb = null;
      cb();
    } else if (this.#state === PEER_CLOSED) {
      this.#failPendingWrite();
    }
    return moved;
  }

  /**
   * Drains the RX ring into the stream (or into onread's buffer), wakes a
   * writer that parked on a full ring, and pushes the end once the peer's
   * FIN is reached. True if any byte moved.
   */
  #drain(): boolean {
    const rx = this.#rx;
    const moved = this.#onread === null ? this.#drainPush() : this.#drainInto(this.#onread);
    // SYNC POINT with the producer's park(): after freeing space, a parked writer is woken.
    if (moved && this.#state !== CLOSED && rx.producerNeedsWake()) this.#signals!.wake();
    if (this.#wantRead && this.#state !== CLOSED && rx.finished()) {
      this.#wantRead = false;
      this.#rxEnded = true;
      this.#conn._pushEnd();
    }
    return moved;
  }

  /** Pushes what the RX ring holds, READ_CHUNK at most per Buffer (receive-pool.ts); true if any byte moved. */
  #drainPush(): boolean {
    const rx = this.#rx;
    const conn = this.#conn;
    let moved = false;
    for (;;) {
      let buf: Buffer | null;
      if (this.#trackPeaks) {
        const avail = rx.readable();
        if (avail > this.#peakRx) this.#peakRx = avail;
        buf = avail === 0 ? null : readForPush(rx, READ_CHUNK);
      } else {
        buf = readForPush(rx, READ_CHUNK);
      }
      if (buf === null) break;
      // Before the push: an answer written from inside it starts the next wait.
      if (!moved) this.#policy.received();
      moved = true;
      this.#chunksIn++;
      conn._countRead(buf.length);
      // Cleared before push: a _read re-entered from inside push() sets it again.
      this.#wantRead = false;
      if (conn.push(buf)) this.#wantRead = true;
      if (!this.#wantRead || this.#state === CLOSED) break;
      if ((this.#budget -= buf.length) <= 0) {
        this.#yielded = true;
        break;
      }
    }
    return moved;
  }

  /**
   * onread: copies what the RX ring holds straight into the caller's
   * buffer, one callback per fill, until the ring is empty, the callback
   * returns false (or pauses), or the budget is spent. True if any byte moved.
   */
  #drainInto(onread: OnreadTarget): boolean {
    const rx = this.#rx;
    const conn = this.#conn;
    let moved = false;
    for (;;) {
      if (this.#trackPeaks) {
        const avail = rx.readable();
        if (avail > this.#peakRx) this.#peakRx = avail;
      }
      const buf = onread.buffer;
      const n = rx.read(buf, 0, buf.length);
      if (n === 0) break;
      if (!moved) this.#policy.received();
      moved = true;
      this.#chunksIn++;
      conn._countRead(n);
      // A pause() from inside the callback clears #wantRead too.
      if (!onread.deliver(n)) this.#wantRead = false;
      if (!this.#wantRead || this.#state === CLOSED) break;
      if ((this.#budget -= n) <= 0) {
        this.#yielded = true;
        break;
      }
    }
    return moved;
  }

  /** A claim found the ring full: tell the Conn once there is space. */
  #offerClaim(): void {
    if (this.#state !== OPEN) {
      this.#wantClaim = false;
      return;
    }
    if (this.#tx.writable() === 0) return;
    this.#wantClaim = false;
    this.#conn.emit('claimable');
  }

  /** A borrow found the ring empty: tell the Conn once bytes (or the end) arrived. */
  #offerBorrow(): void {
    if (this.#rx.readable() === 0 && !this.#rx.endPublished()) return;
    this.#wantBorrow = false;
    this.#conn.emit('borrowable');
  }

  /** Spins, parks, or stops, after a pump. */
  #wait(progress: boolean): void {
    const signals = this.#signals!;
    const waitWrite = (this.#wChunks !== null && !this.#claimHeld) || this.#wantClaim;
    const waitRead = this.#borrowing ? this.#wantBorrow : this.#wantRead && !this.#rxEnded;
    if (progress) this.#policy.moved();
    if (this.#yielded && waitRead) {
      // Not waiting: there is more to read (also after the peer closed,
      // since what it left in the ring is ours). Let the loop turn, then go on.
      signals.waiting(true);
      this.#schedule();
      return;
    }
    // Nobody wakes us once the peer closed: it left everything in the ring
    // and drain() takes it; a pending write was failed.
    if ((!waitWrite && !waitRead) || this.#state !== OPEN || signals.pollPeerClosed()) {
      signals.waiting(false);
      return;
    }
    signals.waiting(true);
    if (this.#policy.spin()) {
      this.#spinTurns++;
      this.#schedule();
      return;
    }
    // Park: flag, then re-check inside park(); if something arrived meanwhile, go on.
    this.#parks++;
    const readReady = waitRead && this.#rx.park();
    const writeReady = waitWrite && this.#tx.park();
    if (readReady || writeReady || signals.sleep(waitRead, waitWrite)) this.#schedule();
    else this.#readParked = waitRead;
  }
}
