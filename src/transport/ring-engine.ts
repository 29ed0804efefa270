/**
 * What the two ring engines share: a Conn's bytes go through two SPSC rings
 * (../ring/ring.ts), one written and one read by each end, and this class
 * moves them between the rings and the stream. Subclasses supply how the
 * ends signal each other and how an end learns that the other is gone:
 *
 *   - `ShmEngine` (shm-engine.ts): two processes; the doorbell is a byte on
 *     the control socket, whose close also says the peer is gone;
 *   - `ChannelEngine` (../channel/channel-engine.ts): two threads of one
 *     process; the doorbell is `Atomics.notify` on the rings' parked words,
 *     awaited with `Atomics.waitAsync`, and liveness comes from probes.
 *
 * ## The pump
 *
 * Everything happens in `#pump()`: flush the pending write into the TX
 * ring, drain the RX ring into the stream (batched up to READ_CHUNK per
 * pushed Buffer), wake the peer if it parked, then decide how to wait:
 *
 *   - nothing to wait for (no pending write, the stream does not want data):
 *     stop; the next _read/_write calls pump again;
 *   - waiting, and the last progress was less than `spin` µs ago: poll again
 *     on the next turn of the event loop (setImmediate);
 *   - the drain stopped at DRAIN_BUDGET with data left: pump again on the
 *     next turn, after timers and I/O had theirs;
 *   - otherwise park: set the parked flag(s) in the ring, re-check (the
 *     ring's park() closes the lost-wake-up race), and sleep until the peer
 *     rings the doorbell (`sleepRead()`/`sleepWrite()`). A parked Conn
 *     costs no CPU.
 *
 * A peer publishing data (or freeing space) checks our parked flag and
 * wakes us (`wakeReader()`/`wakeWriter()`) only if it was set, so under
 * load wake-ups are rare.
 *
 * `write()` pumps the write side only: it never pushes 'data' from inside a
 * write (a net.Socket never does, and a stream user such as http2's
 * JSStreamSocket breaks if it happens).
 *
 * ## End of stream
 *
 * `final()` publishes FIN in the TX ring after the last bytes and wakes the
 * peer; `destroy()` publishes it too, so the peer sees 'end' after the bytes
 * already published (as a TCP close sends FIN). When the subclass learns
 * that the peer closed its end (`peerGone()`): if the peer's FIN is in our
 * RX ring the close is orderly (we still drain what is left, and a pending
 * write fails: nobody reads it); otherwise the peer died and the Conn is
 * destroyed with `SHMNET_ERR_PEER_GONE`.
 *
 * ## Hot path
 *
 * `write()`, `tryWrite()` and `#drain()` run per chunk. They touch only
 * this class's fields and private methods, allocate nothing but the pushed
 * Buffer, and call a subclass hook only when the ring says the peer is
 * parked (`consumerNeedsWake()`/`producerNeedsWake()`).
 */
import { codes, ShmnetError } from '../errors.js';
import type { RingConsumer, RingProducer } from '../ring/ring.js';
import type { Conn, Engine } from './conn.js';

/** Largest Buffer pushed to the stream per read. */
export const READ_CHUNK = 64 * 1024;
/**
 * Most bytes one pump pushes before it lets the event loop turn (timers,
 * other I/O), as libuv bounds what it reads from a socket per poll: a peer
 * that writes as fast as this end reads must not starve its thread.
 */
export const DRAIN_BUDGET = 16 * READ_CHUNK;

export interface RingEngineInit {
  conn: Conn;
  /** The ring this end writes. */
  tx: RingProducer;
  /** The ring this end reads. */
  rx: RingConsumer;
  /** Ring size for stats() and occupancies. */
  capacity: number;
  /** µs to poll before parking. */
  spin: number;
  /** What error messages call the Conn: 'connection' or 'channel'. */
  noun: string;
  /** Keep the peak occupancies for stats() (one more head load per pushed Buffer). */
  trackPeaks: boolean;
  /** Set when the rings were corrupt before the engine existed: writes fail with it and the first pump destroys the Conn. */
  startError: Error | null;
}

export abstract class RingEngine implements Engine {
  readonly transport = 'shm' as const;
  protected readonly conn: Conn;
  protected readonly tx: RingProducer;
  protected readonly rx: RingConsumer;
  protected readonly capacity: number;
  readonly #spinMs: number;
  readonly #noun: string;
  readonly #trackPeaks: boolean;
  readonly #startError: Error | null;

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
  /**
   * Bytes this turn of the event loop may still push. Refilled only when
   * the loop calls us (setImmediate, a doorbell), not by _read(): in
   * flowing mode Readable calls _read() again from inside each push, so a
   * budget refilled there would never run out.
   */
  #budget = DRAIN_BUDGET;
  /** The last drain stopped at the budget with data left. */
  #yielded = false;
  readonly #runPump = (): void => {
    this.#immediate = null;
    this.#budget = DRAIN_BUDGET;
    this.#pump();
  };

  // counters for stats()
  #chunksIn = 0;
  #chunksOut = 0;
  #parks = 0;
  #spinTurns = 0;
  #peakRx = 0;
  #peakTx = 0;

  constructor(init: RingEngineInit) {
    this.conn = init.conn;
    this.tx = init.tx;
    this.rx = init.rx;
    this.capacity = init.capacity;
    this.#spinMs = init.spin / 1000;
    this.#noun = init.noun;
    this.#trackPeaks = init.trackPeaks;
    this.#startError = init.startError;
  }

  // ---- hooks (slow path only) ------------------------------------------------

  /** The peer's reader parked and consumerNeedsWake() cleared its flag: wake it. */
  protected abstract wakeReader(): void;

  /** The peer's writer parked and producerNeedsWake() cleared its flag: wake it. */
  protected abstract wakeWriter(): void;

  /**
   * The RX ring's consumerParked flag is set and re-checked: arrange to be
   * woken when the peer clears it. True if the wake-up already happened
   * (pump again now).
   */
  protected abstract sleepRead(): boolean;

  /** The TX ring's producerParked flag is set and re-checked: as sleepRead(). */
  protected abstract sleepWrite(): boolean;

  /**
   * Before waiting: true if the peer has closed its end (then report it
   * through peerGone(), if not done yet). Nobody wakes us after that.
   */
  protected abstract checkPeerClosed(): boolean;

  /** Called after every pump: whether this end now waits for data or space. */
  protected abstract setWaiting(waiting: boolean): void;

  /**
   * destroy() after FIN is published: release what the subclass holds and
   * tell the peer. `graceful` when both directions had ended normally.
   */
  protected abstract release(graceful: boolean): void;

  /** What stats() reports besides the ring counters. */
  protected abstract engineStats(): Record<string, unknown>;

  abstract ref(): void;
  abstract unref(): void;

  /** After final() published FIN: wake the peer's reader if it parked. */
  protected wakeAfterFin(): void {
    if (this.tx.consumerNeedsWake()) this.wakeReader();
  }

  // ---- Engine --------------------------------------------------------------

  write(chunks: Buffer[], cb: (err?: Error | null) => void): void {
    if (this.#startError !== null) {
      cb(this.#startError);
      return;
    }
    if (this.#closed || this.#peerClosed) {
      cb(new ShmnetError(codes.SOCKET_CLOSED, `the peer has closed the ${this.#noun}; it reads no more`));
      return;
    }
    // Fast path: one chunk that fits.
    if (chunks.length === 1) {
      const chunk = chunks[0]!;
      let n: number;
      try {
        n = this.tx.write(chunk);
      } catch (err) {
        this.conn.destroy(err as Error);
        cb(err as Error);
        return;
      }
      if (n > 0) {
        this.#wrote(n);
        // SYNC POINT with the consumer's park(): after publishing, even a
        // partial write wakes a parked reader; those bytes are published
        // now, and if it never hears of them both sides wait forever.
        if (this.tx.consumerNeedsWake()) this.wakeReader();
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
    this.#pump(false);
  }

  tryWrite(chunk: Uint8Array): boolean {
    if (this.#startError !== null || this.#closed || this.#peerClosed || this.#wChunks !== null) return false;
    if (!this.tx.writeAll(chunk)) return false;
    this.#wrote(chunk.length);
    // SYNC POINT with the consumer's park(): after publishing, as in write().
    if (this.tx.consumerNeedsWake()) this.wakeReader();
    return true;
  }

  read(): void {
    if (this.#rxEnded || this.#closed) return;
    this.#wantRead = true;
    if (this.#budget <= 0) this.schedule();
    else this.#pump();
  }

  final(cb: (err?: Error | null) => void): void {
    if (this.#startError !== null) {
      cb(this.#startError);
      return;
    }
    if (this.#closed) {
      cb(new ShmnetError(codes.SOCKET_CLOSED, `the ${this.#noun} is closed`));
      return;
    }
    try {
      this.tx.end();
    } catch (err) {
      cb(err as Error);
      return;
    }
    this.wakeAfterFin();
    cb();
  }

  destroy(err: Error | null): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#immediate) {
      clearImmediate(this.#immediate);
      this.#immediate = null;
    }
    const graceful = err === null && this.#rxEnded && this.tx.ended;
    // A destroyed Conn still ends its stream, so the peer sees 'end' after
    // the bytes already published (as a TCP close sends FIN).
    if (!this.tx.ended) {
      try {
        this.tx.end();
      } catch {
        // a corrupt ring: release() still tells the peer
      }
    }
    this.release(graceful);
    const cb = this.#wCb;
    this.#wChunks = null;
    this.#wCb = null;
    if (cb) cb(err ?? new ShmnetError(codes.SOCKET_CLOSED, `the ${this.#noun} was destroyed`));
  }

  stats(): Record<string, unknown> {
    const closed = this.#closed;
    return {
      ...this.engineStats(),
      ringSize: this.capacity,
      chunksIn: this.#chunksIn,
      chunksOut: this.#chunksOut,
      parks: this.#parks,
      spinTurns: this.#spinTurns,
      ...(this.#trackPeaks ? { peakRxOccupancy: this.#peakRx, peakTxOccupancy: this.#peakTx } : null),
      rxOccupancy: closed ? 0 : this.#occupancy(() => this.rx.readable()),
      txOccupancy: closed ? 0 : this.#occupancy(() => this.capacity - this.tx.writable()),
    };
  }

  /** Reads an occupancy for stats(); NaN when the peer has corrupted the ring (the pump reports that). */
  #occupancy(read: () => number): number {
    try {
      return read();
    } catch {
      return NaN;
    }
  }

  // ---- for subclasses --------------------------------------------------------

  /** destroy() has run. */
  protected get closed(): boolean {
    return this.#closed;
  }

  /** peerGone() has run. */
  protected get peerClosed(): boolean {
    return this.#peerClosed;
  }

  /** Moves what can move now (a doorbell rang, the peer left): a new turn of the loop. */
  protected pump(): void {
    this.#budget = DRAIN_BUDGET;
    this.#pump();
  }

  /** Pumps on the next turn of the event loop. */
  protected schedule(): void {
    if (this.#immediate === null && !this.#closed) this.#immediate = setImmediate(this.#runPump);
  }

  /**
   * The peer closed its end (the subclass saw its socket close or its
   * `closed` word). If its FIN is in the RX ring the close is orderly: a
   * pending write fails (the peer reads no more), else true says that what
   * is left in the RX ring is still ours to read, and the caller pumps.
   * Without FIN the peer died: the Conn is destroyed with
   * `SHMNET_ERR_PEER_GONE` and `abruptMessage`. Only the first call counts.
   */
  protected peerGone(abruptMessage: string): boolean {
    if (this.#closed || this.#peerClosed) return false;
    this.#peerClosed = true;
    if (!this.rx.endPublished()) {
      this.conn.destroy(new ShmnetError(codes.PEER_GONE, abruptMessage));
      return false;
    }
    if (this.#wChunks !== null) {
      this.#failPendingWrite();
      return false;
    }
    return true;
  }

  // ---- internals -------------------------------------------------------------

  #wrote(n: number): void {
    this.#chunksOut++;
    this.conn._countWritten(n);
  }

  #failPendingWrite(): void {
    const cb = this.#wCb;
    this.#wChunks = null;
    this.#wCb = null;
    const err = new ShmnetError(codes.SOCKET_CLOSED, `the peer closed the ${this.#noun} before reading everything written`);
    if (cb) cb(err);
    this.conn.destroy(err);
  }

  /** `drain` false: only flush the pending write (see write()). */
  #pump(drain = true): void {
    if (this.#closed) return;
    if (this.#startError !== null) {
      this.conn.destroy(this.#startError);
      return;
    }
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    this.#yielded = false;
    let progress = false;
    try {
      do {
        this.#again = false;
        if (this.#wChunks !== null && this.#flushWrite()) progress = true;
        if (drain && this.#wantRead && this.#drain()) progress = true;
      } while (this.#again && !this.#closed);
    } catch (err) {
      this.#pumping = false;
      this.conn.destroy(err as Error);
      return;
    }
    this.#pumping = false;
    if (!this.#closed) this.#wait(progress);
  }

  /** Copies as much of the pending write as fits; true if any byte moved. */
  #flushWrite(): boolean {
    const chunks = this.#wChunks!;
    const tx = this.tx;
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
        const used = this.capacity - tx.writable();
        if (used > this.#peakTx) this.#peakTx = used;
      }
      // SYNC POINT with the consumer's park(): after publishing, as in write().
      if (tx.consumerNeedsWake()) this.wakeReader();
    }
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
    const rx = this.rx;
    const conn = this.conn;
    let moved = false;
    for (;;) {
      let buf: Buffer | null;
      if (this.#trackPeaks) {
        const avail = rx.readable();
        if (avail > this.#peakRx) this.#peakRx = avail;
        buf = avail === 0 ? null : rx.readBuffer(READ_CHUNK);
      } else {
        buf = rx.readBuffer(READ_CHUNK);
      }
      if (buf === null) break;
      moved = true;
      this.#chunksIn++;
      conn._countRead(buf.length);
      // Cleared before push: a _read re-entered from inside push() sets it again.
      this.#wantRead = false;
      if (conn.push(buf)) this.#wantRead = true;
      if (!this.#wantRead || this.#closed) break;
      if ((this.#budget -= buf.length) <= 0) {
        this.#yielded = true;
        break;
      }
    }
    // SYNC POINT with the producer's park(): after freeing space, a parked writer is woken.
    if (moved && !this.#closed && rx.producerNeedsWake()) this.wakeWriter();
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
    if (this.#yielded && waitRead) {
      // Not waiting: there is more to read (also after the peer closed,
      // since what it left in the ring is ours). Let the loop turn, then go on.
      this.#waitingSince = 0;
      this.setWaiting(true);
      this.schedule();
      return;
    }
    // Nobody wakes us once the peer closed: it left everything in the ring
    // and drain() takes it; a pending write was failed.
    if ((!waitWrite && !waitRead) || this.checkPeerClosed()) {
      this.#waitingSince = 0;
      this.setWaiting(false);
      return;
    }
    this.setWaiting(true);
    const now = this.#spinMs > 0 ? performance.now() : 0;
    if (progress || this.#waitingSince === 0) this.#waitingSince = now;
    if (now - this.#waitingSince < this.#spinMs) {
      this.#spinTurns++;
      this.schedule();
      return;
    }
    // Park: flag, then re-check inside park(); if something arrived meanwhile, go on.
    this.#parks++;
    this.#waitingSince = 0;
    let ready = false;
    if (waitRead && (this.rx.park() || this.sleepRead())) ready = true;
    if (waitWrite && (this.tx.park() || this.sleepWrite())) ready = true;
    if (ready) this.schedule();
  }
}
