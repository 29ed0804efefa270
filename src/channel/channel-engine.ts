/**
 * The engine of a worker channel's Conn: the same two SPSC rings as a
 * shared-memory connection, between two threads of one process, with
 * `Atomics.waitAsync`/`Atomics.notify` on the rings' parked words as the
 * doorbell instead of a byte on a control socket.
 *
 * ## The pump
 *
 * As in ShmEngine (../transport/shm-engine.ts): flush the pending write
 * into the TX ring, drain the RX ring into the stream (batched up to
 * READ_CHUNK per Buffer), wake the peer if it parked, then stop, spin
 * (setImmediate turns for `spin` µs) or park. Parking sets the parked
 * flag, re-checks (the ring's park() closes the lost-wake-up race) and
 * then `Atomics.waitAsync`s on the flag word while it is still 1. The
 * peer clears the flag (consumerNeedsWake/producerNeedsWake) and
 * notifies; a waiter whose flag was cleared before it was registered
 * returns at once ('not-equal'). Every resolved wait runs the pump.
 *
 * ## Keeping the event loop alive
 *
 * A pending waitAsync does not keep a thread's event loop alive. The
 * engine owns one timer (the liveness probe below) and refs it exactly
 * while the Conn is ref'd and waiting for data or space, the way an
 * active socket handle is; otherwise it is unref'd, and an idle or
 * `unref()`ed channel lets its thread exit.
 *
 * ## Liveness (no MessagePort, no heartbeat from the peer)
 *
 * The port objects are plain data, so a thread's termination is detected
 * through the rings' memory alone. Each side keeps LIVENESS_WAITERS
 * `waitAsync` waiters on its `alive` word (layout.ts) and re-arms one
 * whenever one is woken, counting re-arms in `rearmed`. Every
 * PROBE_INTERVAL_MS the other side probes with `Atomics.notify(alive, 1)`:
 * it returns 1 while the thread lives and 0 once it has terminated,
 * because V8 drops the async waiters of a thread that goes away. A probe
 * that finds no waiter although `answered - rearmed` says some must be
 * registered means the thread is gone: unless its `closed` word says it
 * closed on purpose, the Conn is destroyed with `SHMNET_ERR_PEER_GONE`.
 *
 * A thread stuck in synchronous code does not re-arm, so the prober backs
 * off (doubling the gap between probes that use up a waiter) and never
 * concludes anything from a thread that merely does not run: with 16
 * waiters a thread may stay busy for hours without a false alarm. Only a
 * thread that terminates after being busy for longer than that goes
 * unnoticed until its memory says so. Closing on purpose needs no probe:
 * `destroy()` publishes FIN, stores `closed`, and notifies every word
 * the peer may wait on.
 */
import { codes, ShmnetError, ringCorrupt } from '../errors.js';
import { ringOffsets } from '../ring/header.js';
import {
  CONSUMER_PARKED_INDEX,
  FIN_INDEX,
  PRODUCER_PARKED_INDEX,
  RING_C2S,
  RING_S2C,
} from '../ring/layout.js';
import { RingConsumer, RingProducer } from '../ring/ring.js';
import type { Conn, Engine } from '../transport/conn.js';
import {
  ALIVE_INDEX,
  CHANNEL_WORD_COUNT,
  CHANNEL_WORDS_OFFSET,
  CLOSED_INDEX,
  LIVENESS_WAITERS,
  OPENED_INDEX,
  OPENED_LIVE,
  REARMED_INDEX,
} from './layout.js';

type WaitAsyncResult =
  | { async: false; value: 'not-equal' | 'timed-out' }
  | { async: true; value: Promise<'ok' | 'timed-out'> };
/** `Atomics.waitAsync` (in Node since 16; typed only from lib ES2024, and we build against ES2022). */
const waitAsync = (Atomics as unknown as { waitAsync(ta: Int32Array, index: number, value: number): WaitAsyncResult }).waitAsync;

/** Largest Buffer pushed to the stream per read. */
export const READ_CHUNK = 64 * 1024;
/** How often each side checks that the other's thread still lives. */
export const PROBE_INTERVAL_MS = 250;

export interface ChannelEngineInit {
  conn: Conn;
  buffer: SharedArrayBuffer;
  capacity: number;
  /** 0 writes ring C2S and reads S2C; 1 the reverse. */
  side: 0 | 1;
  /** µs to poll before parking. */
  spin: number;
}

export class ChannelEngine implements Engine {
  readonly transport = 'shm' as const;
  readonly #conn: Conn;
  readonly #tx: RingProducer;
  readonly #rx: RingConsumer;
  readonly #txWords: Int32Array;
  readonly #rxWords: Int32Array;
  readonly #words: Int32Array;
  readonly #side: number;
  readonly #peer: number;
  readonly #capacity: number;
  readonly #spinMs: number;

  // The pending write: chunks[index] from offset on, then cb.
  #wChunks: Buffer[] | null = null;
  #wIndex = 0;
  #wOffset = 0;
  #wCb: ((err?: Error | null) => void) | null = null;

  #wantRead = false;
  #rxEnded = false;
  #closed = false;
  #peerClosed = false;
  #pumping = false;
  #again = false;
  #immediate: NodeJS.Immediate | null = null;
  /** performance.now() of the last progress while waiting; 0 when not waiting. */
  #waitingSince = 0;
  /** A waitAsync is pending on the RX ring's consumerParked / the TX ring's producerParked. */
  #rxWaitPending = false;
  #txWaitPending = false;

  /** The probe timer doubles as the handle that keeps the loop alive. */
  #timer: NodeJS.Timeout | null = null;
  #refed = true;
  #waiting = false;
  /** Probes that woke one of the peer's liveness waiters (Int32, wraps). */
  #answered = 0;
  #lastProbe = 0;
  #backoff = PROBE_INTERVAL_MS;

  // counters for stats()
  #chunksIn = 0;
  #chunksOut = 0;
  #wakesSent = 0;
  #wakesReceived = 0;
  #parks = 0;
  #spinTurns = 0;
  #probes = 0;

  readonly #runPump = (): void => {
    this.#immediate = null;
    this.#pump();
  };
  readonly #onRxWake = (): void => {
    this.#rxWaitPending = false;
    this.#wakesReceived++;
    this.#pump();
  };
  readonly #onTxWake = (): void => {
    this.#txWaitPending = false;
    this.#wakesReceived++;
    this.#pump();
  };
  readonly #runProbe = (): void => {
    this.#timer = null;
    this.#probe();
  };
  readonly #onLivenessWake = (): void => {
    if (this.#closed) return;
    const r = waitAsync(this.#words, ALIVE_INDEX + this.#side, 0);
    if (r.async) void r.value.then(this.#onLivenessWake);
    // SYNC POINT with the peer in #probe(): the replacement waiter is
    // registered before the count says so.
    Atomics.add(this.#words, REARMED_INDEX + this.#side, 1);
  };

  /** The caller has claimed `opened[side]` (OPENED_CLAIMED). */
  constructor(init: ChannelEngineInit) {
    this.#conn = init.conn;
    this.#side = init.side;
    this.#peer = 1 - init.side;
    this.#capacity = init.capacity;
    this.#spinMs = init.spin / 1000;
    const rings = ringOffsets(init.capacity);
    const txRing = rings[init.side === 0 ? RING_C2S : RING_S2C];
    const rxRing = rings[init.side === 0 ? RING_S2C : RING_C2S];
    this.#tx = new RingProducer(init.buffer, txRing.controlOffset, txRing.dataOffset, txRing.capacity);
    this.#rx = new RingConsumer(init.buffer, rxRing.controlOffset, rxRing.dataOffset, rxRing.capacity);
    this.#txWords = this.#tx.controlWords;
    this.#rxWords = this.#rx.controlWords;
    this.#words = new Int32Array(init.buffer, CHANNEL_WORDS_OFFSET, CHANNEL_WORD_COUNT);

    for (let i = 0; i < LIVENESS_WAITERS; i++) {
      const r = waitAsync(this.#words, ALIVE_INDEX + this.#side, 0);
      if (r.async) void r.value.then(this.#onLivenessWake);
    }
    // SYNC POINT with the peer in #probe(): it probes only once it sees
    // OPENED_LIVE, by which time every waiter above is registered.
    Atomics.store(this.#words, OPENED_INDEX + this.#side, OPENED_LIVE);
    this.#armProbe();
    // Data may already be waiting (the peer went first).
    this.#schedule();
  }

  // ---- Engine --------------------------------------------------------------

  write(chunks: Buffer[], cb: (err?: Error | null) => void): void {
    if (this.#closed || this.#peerClosed) {
      cb(new ShmnetError(codes.SOCKET_CLOSED, 'the peer has closed the channel; it reads no more'));
      return;
    }
    // Fast path: one chunk that fits.
    if (chunks.length === 1) {
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
        // Also when only part fitted: those bytes are published now, and a
        // parked reader must hear of them or both sides wait forever.
        this.#wakeReader();
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
    // Write side only: a write() must never deliver 'data' synchronously (a
    // net.Socket never does, and http2's JSStreamSocket breaks if it happens).
    this.#pump(false);
  }

  tryWrite(chunk: Uint8Array): boolean {
    if (this.#closed || this.#peerClosed || this.#wChunks !== null) return false;
    if (!this.#tx.writeAll(chunk)) return false;
    this.#wrote(chunk.length);
    // SYNC POINT with the consumer's park(): after publishing, as in write().
    this.#wakeReader();
    return true;
  }

  read(): void {
    if (this.#rxEnded || this.#closed) return;
    this.#wantRead = true;
    this.#pump();
  }

  final(cb: (err?: Error | null) => void): void {
    if (this.#closed) {
      cb(new ShmnetError(codes.SOCKET_CLOSED, 'the channel is closed'));
      return;
    }
    try {
      this.#tx.end();
    } catch (err) {
      cb(err as Error);
      return;
    }
    this.#wakeReader();
    cb();
  }

  destroy(err: Error | null): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#immediate) {
      clearImmediate(this.#immediate);
      this.#immediate = null;
    }
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    // A destroyed Conn still ends its stream, so the peer sees 'end' after
    // the bytes already published (as a TCP close sends FIN).
    try {
      this.#tx.end();
    } catch {
      // corrupt ring: `closed` below still tells the peer
    }
    const w = this.#words;
    // SYNC POINT with the peer in #checkPeerClosed()/#probe(): stored after
    // FIN, before our waiters go away, so a peer that finds no waiter sees it.
    Atomics.store(w, CLOSED_INDEX + this.#side, 1);
    // Wake the peer wherever it may wait on us, and release our own waiters
    // (each parked word has waiters of one side only).
    Atomics.notify(this.#txWords, CONSUMER_PARKED_INDEX);
    Atomics.notify(this.#rxWords, PRODUCER_PARKED_INDEX);
    Atomics.notify(this.#rxWords, CONSUMER_PARKED_INDEX);
    Atomics.notify(this.#txWords, PRODUCER_PARKED_INDEX);
    Atomics.notify(w, ALIVE_INDEX + this.#side);
    const cb = this.#wCb;
    this.#wChunks = null;
    this.#wCb = null;
    if (cb) cb(err ?? new ShmnetError(codes.SOCKET_CLOSED, 'the channel was destroyed'));
  }

  ref(): void {
    this.#refed = true;
    this.#applyRef();
  }

  unref(): void {
    this.#refed = false;
    this.#applyRef();
  }

  stats(): Record<string, unknown> {
    return {
      channel: true,
      side: this.#side,
      ringSize: this.#capacity,
      chunksIn: this.#chunksIn,
      chunksOut: this.#chunksOut,
      wakesSent: this.#wakesSent,
      wakesReceived: this.#wakesReceived,
      parks: this.#parks,
      spinTurns: this.#spinTurns,
      livenessProbes: this.#probes,
      rxOccupancy: this.#closed ? 0 : this.#rx.readable(),
      txOccupancy: this.#closed ? 0 : this.#capacity - this.#tx.writable(),
    };
  }

  // ---- internals -------------------------------------------------------------

  #wrote(n: number): void {
    this.#chunksOut++;
    this.#conn._countWritten(n);
  }

  /** After publishing: wake the peer if it parked waiting for data. */
  #wakeReader(): void {
    if (this.#tx.consumerNeedsWake()) {
      this.#wakesSent++;
      Atomics.notify(this.#txWords, CONSUMER_PARKED_INDEX, 1);
    }
  }

  /** After freeing space: wake the peer if it parked waiting for space. */
  #wakeWriter(): void {
    if (this.#rx.producerNeedsWake()) {
      this.#wakesSent++;
      Atomics.notify(this.#rxWords, PRODUCER_PARKED_INDEX, 1);
    }
  }

  #schedule(): void {
    if (this.#immediate === null && !this.#closed) this.#immediate = setImmediate(this.#runPump);
  }

  /** `drain` false: only flush the pending write (see write()). */
  #pump(drain = true): void {
    if (this.#closed) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    let progress = false;
    try {
      do {
        this.#again = false;
        if (this.#wChunks !== null && this.#flushWrite()) progress = true;
        if (drain && this.#wantRead && this.#drain()) progress = true;
      } while (this.#again && !this.#closed);
    } catch (err) {
      this.#pumping = false;
      this.#conn.destroy(err as Error);
      return;
    }
    this.#pumping = false;
    if (!this.#closed) this.#wait(progress);
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
    if (moved) this.#wakeReader();
    if (this.#wIndex === chunks.length) {
      const cb = this.#wCb!;
      this.#wChunks = null;
      this.#wCb = null;
      cb();
    } else if (this.#peerClosed) {
      this.#failPendingWrite();
    }
    return moved;
  }

  /** Pushes what the RX ring holds; true if any byte moved. */
  #drain(): boolean {
    const rx = this.#rx;
    const conn = this.#conn;
    let moved = false;
    for (;;) {
      const buf = rx.readBuffer(READ_CHUNK);
      if (buf === null) break;
      moved = true;
      this.#chunksIn++;
      conn._countRead(buf.length);
      // Cleared before push: a _read re-entered from inside push() sets it again.
      this.#wantRead = false;
      if (conn.push(buf)) this.#wantRead = true;
      if (!this.#wantRead || this.#closed) break;
    }
    if (moved && !this.#closed) this.#wakeWriter();
    if (this.#wantRead && !this.#closed && rx.finished()) {
      this.#wantRead = false;
      this.#rxEnded = true;
      conn.push(null);
    }
    return moved;
  }

  /** Spins, parks, or stops, after a pump. */
  #wait(progress: boolean): void {
    const waitWrite = this.#wChunks !== null;
    const waitRead = this.#wantRead && !this.#rxEnded;
    if ((!waitWrite && !waitRead) || this.#checkPeerClosed()) {
      this.#waitingSince = 0;
      this.#setWaiting(false);
      return;
    }
    this.#setWaiting(true);
    const now = this.#spinMs > 0 ? performance.now() : 0;
    if (progress || this.#waitingSince === 0) this.#waitingSince = now;
    if (now - this.#waitingSince < this.#spinMs) {
      this.#spinTurns++;
      this.#schedule();
      return;
    }
    // Park: flag, then re-check inside park(); if something arrived meanwhile, go on.
    this.#parks++;
    this.#waitingSince = 0;
    let ready = false;
    if (waitRead) {
      if (this.#rx.park()) ready = true;
      else if (!this.#rxWaitPending) {
        // Registered only while the flag is still 1: a peer that cleared it
        // in between makes this return 'not-equal' at once.
        const r = waitAsync(this.#rxWords, CONSUMER_PARKED_INDEX, 1);
        if (r.async) {
          this.#rxWaitPending = true;
          void r.value.then(this.#onRxWake);
        } else ready = true;
      }
    }
    if (waitWrite) {
      if (this.#tx.park()) ready = true;
      else if (!this.#txWaitPending) {
        const r = waitAsync(this.#txWords, PRODUCER_PARKED_INDEX, 1);
        if (r.async) {
          this.#txWaitPending = true;
          void r.value.then(this.#onTxWake);
        } else ready = true;
      }
    }
    if (ready) this.#schedule();
  }

  #setWaiting(waiting: boolean): void {
    if (waiting === this.#waiting) return;
    this.#waiting = waiting;
    this.#applyRef();
  }

  #applyRef(): void {
    const t = this.#timer;
    if (t === null) return;
    if (this.#refed && this.#waiting) t.ref();
    else t.unref();
  }

  #armProbe(): void {
    if (this.#closed || this.#peerClosed) return;
    this.#timer = setTimeout(this.#runProbe, PROBE_INTERVAL_MS);
    this.#applyRef();
  }

  /** True (and handled) once the peer closed its end on purpose. */
  #checkPeerClosed(): boolean {
    if (this.#peerClosed) return true;
    // SYNC POINT with the peer's destroy(): closed is stored after its FIN.
    if (Atomics.load(this.#words, CLOSED_INDEX + this.#peer) === 0) return false;
    this.#onPeerClosed(false);
    return true;
  }

  #probe(): void {
    if (this.#closed || this.#checkPeerClosed()) return;
    const w = this.#words;
    // SYNC POINT with the peer's constructor: its waiters exist once it is live.
    if (Atomics.load(w, OPENED_INDEX + this.#peer) === OPENED_LIVE) {
      // SYNC POINT with the peer's #onLivenessWake(): each re-arm is counted
      // after the new waiter is registered.
      const rearmed = Atomics.load(w, REARMED_INDEX + this.#peer);
      const outstanding = (this.#answered - rearmed) | 0;
      if (outstanding < 0 || outstanding > LIVENESS_WAITERS) {
        this.#conn.destroy(ringCorrupt(`channel liveness count ${rearmed} is ahead of ${this.#answered} probes or too far behind`));
        return;
      }
      const now = performance.now();
      let probe = false;
      if (outstanding === 0) {
        this.#backoff = PROBE_INTERVAL_MS;
        probe = true;
      } else if (outstanding < LIVENESS_WAITERS && now - this.#lastProbe >= this.#backoff) {
        // The peer's event loop has not run since an earlier probe: it is
        // busy (or gone). Probe less and less often, keeping waiters in hand.
        this.#backoff *= 2;
        probe = true;
      }
      if (probe) {
        this.#probes++;
        this.#lastProbe = now;
        // SYNC POINT with the peer's waiters on `alive`: 0 woken although
        // `outstanding` < LIVENESS_WAITERS means its thread has terminated,
        // unless it closed on purpose just now (destroy() stores closed first).
        if (Atomics.notify(w, ALIVE_INDEX + this.#peer, 1) === 0) {
          if (!this.#checkPeerClosed()) this.#onPeerClosed(true);
          return;
        }
        this.#answered = (this.#answered + 1) | 0;
      }
    }
    this.#armProbe();
  }

  /** The peer closed its end (`terminated`: its thread is gone without closing). */
  #onPeerClosed(terminated: boolean): void {
    if (this.#closed || this.#peerClosed) return;
    this.#peerClosed = true;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    let orderly: boolean;
    try {
      // SYNC POINT with the peer's RingProducer.end(): FIN is published
      // before `closed`, so an orderly close shows it here.
      orderly = Atomics.load(this.#rxWords, FIN_INDEX) === 1;
    } catch {
      orderly = false;
    }
    if (!orderly) {
      const why = terminated ? 'the peer thread terminated' : 'the peer closed the channel';
      this.#conn.destroy(new ShmnetError(codes.PEER_GONE, `${why} without ending the stream`));
      return;
    }
    if (this.#wChunks !== null) {
      this.#failPendingWrite();
      return;
    }
    // Orderly: what is left in the RX ring is still ours to read (on the
    // next turn: this may run inside a write()).
    this.#schedule();
  }

  #failPendingWrite(): void {
    const cb = this.#wCb;
    this.#wChunks = null;
    this.#wCb = null;
    const err = new ShmnetError(codes.SOCKET_CLOSED, 'the peer closed the channel before reading everything written');
    if (cb) cb(err);
    this.#conn.destroy(err);
  }
}
