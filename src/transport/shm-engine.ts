/**
 * The shared-memory engine of a Conn: bytes go through two SPSC rings in
 * the connection's region; the control socket carries only doorbells and
 * tells us when the peer is gone.
 *
 * ## The pump
 *
 * Everything happens in `pump()`: flush the pending write into the TX ring,
 * drain the RX ring into the stream (batched up to READ_CHUNK per pushed
 * Buffer), ring the peer if it parked, then decide how to wait:
 *
 *   - nothing to wait for (no pending write, the stream does not want data):
 *     stop; the next _read/_write calls pump again;
 *   - waiting, and the last progress was less than `spin` µs ago: poll again
 *     on the next turn of the event loop (setImmediate);
 *   - otherwise park: set the parked flag(s) in the ring, re-check (the
 *     ring's park() closes the lost-wake-up race), and sleep until the peer
 *     rings the doorbell — a byte on the control socket. A parked Conn
 *     costs no CPU.
 *
 * A peer publishing data (or freeing space) checks our parked flag and
 * sends one byte only if it was set, so under load bells are rare.
 *
 * ## End of stream and liveness
 *
 * `final()` publishes FIN in the TX ring after the last bytes and rings.
 * The control socket closing is the peer's last word: if the peer's FIN is
 * in our RX ring the close is orderly (we still drain what is left);
 * otherwise the peer died and the Conn is destroyed with
 * `SHMNET_ERR_PEER_GONE`.
 *
 * Socket listeners are module-level functions that find their engine
 * through a symbol, so no closure is created per connection (as ws does).
 */
import type { Socket } from 'node:net';
import { codes, ringCorrupt, ShmnetError } from '../errors.js';
import type { MappedRegion } from '../mapping/region.js';
import { ringOffsets } from '../ring/header.js';
import { FIN_INDEX, MIN_CAPACITY, RING_C2S, RING_CONTROL_SIZE, RING_S2C } from '../ring/layout.js';
import { RingConsumer, RingProducer } from '../ring/ring.js';
import type { Conn, Engine } from './conn.js';

/** Largest Buffer pushed to the stream per read. */
export const READ_CHUNK = 64 * 1024;
/** Bells are skipped while this much is queued on a peer that does not read its socket. */
const MAX_BELL_BACKLOG = 64 * 1024;
const BELL = Buffer.from([0x62]);

const kEngine = Symbol('shmnet.shmEngine');
type EngineSocket = Socket & { [kEngine]?: ShmEngine };

function socketOnData(this: EngineSocket, chunk: Buffer): void {
  this[kEngine]?._onBell(chunk.length);
}

function socketOnEnd(this: EngineSocket): void {
  this[kEngine]?._onSocketGone(null);
}

function socketOnClose(this: EngineSocket): void {
  this[kEngine]?._onSocketGone(null);
}

function socketOnError(this: EngineSocket, err: Error): void {
  this[kEngine]?._onSocketGone(err);
}

function noop(): void {}

export interface ShmEngineInit {
  conn: Conn;
  socket: Socket;
  region: MappedRegion;
  capacity: number;
  /** The server writes ring S2C and reads ring C2S; the client the reverse. */
  role: 'server' | 'client';
  /** µs to poll before parking. */
  spin: number;
  /** Bytes that followed the handshake: doorbells. */
  rest: Buffer;
  /** How the region was shared: a named POSIX object (unlinked after ACK) or a memfd passed over the socket. */
  segment?: 'named' | 'memfd';
}

export class ShmEngine implements Engine {
  readonly transport = 'shm' as const;
  readonly #conn: Conn;
  readonly #socket: EngineSocket;
  #region: MappedRegion | null;
  readonly #tx: RingProducer;
  readonly #rx: RingConsumer;
  readonly #capacity: number;
  readonly #spinMs: number;
  readonly #segment: 'named' | 'memfd';

  // The pending write: chunks[index] from offset on, then cb.
  #wChunks: Buffer[] | null = null;
  #wIndex = 0;
  #wOffset = 0;
  #wCb: ((err?: Error | null) => void) | null = null;

  /** Set when the rings were corrupt before this engine existed. */
  #startError: Error | null = null;
  #wantRead = false;
  #rxEnded = false;
  #closed = false;
  #peerClosed = false;
  #pumping = false;
  #again = false;
  #immediate: NodeJS.Immediate | null = null;
  /** performance.now() of the last progress while waiting; 0 when not waiting. */
  #waitingSince = 0;
  readonly #runPump = () => {
    this.#immediate = null;
    this.#pump();
  };

  // counters for stats()
  #chunksIn = 0;
  #chunksOut = 0;
  #bellsSent = 0;
  #bellsReceived = 0;
  #parks = 0;
  #spinTurns = 0;
  #peakRx = 0;
  #peakTx = 0;

  constructor(init: ShmEngineInit) {
    this.#conn = init.conn;
    this.#socket = init.socket as EngineSocket;
    this.#region = init.region;
    this.#capacity = init.capacity;
    this.#spinMs = init.spin / 1000;
    this.#segment = init.segment ?? 'named';
    const sab = init.region.buffer;
    const rings = ringOffsets(init.capacity);
    const txRing = rings[init.role === 'server' ? RING_S2C : RING_C2S];
    const rxRing = rings[init.role === 'server' ? RING_C2S : RING_S2C];
    try {
      this.#tx = new RingProducer(sab, txRing.controlOffset, txRing.dataOffset, txRing.capacity);
      this.#rx = new RingConsumer(sab, rxRing.controlOffset, rxRing.dataOffset, rxRing.capacity);
    } catch (err) {
      // The peer has had the region mapped since MAPINFO and already wrote
      // impossible counters. Handles over a private empty ring keep every
      // method safe; writes fail and the first pump destroys the Conn, so
      // this reaches the app as any corruption found later does.
      this.#startError = err as Error;
      const spare = new ArrayBuffer(2 * (RING_CONTROL_SIZE + MIN_CAPACITY));
      this.#tx = new RingProducer(spare, 0, RING_CONTROL_SIZE, MIN_CAPACITY);
      this.#rx = new RingConsumer(spare, RING_CONTROL_SIZE + MIN_CAPACITY, 2 * RING_CONTROL_SIZE + MIN_CAPACITY, MIN_CAPACITY);
    }
    // Only we write FIN on our ring, and we have not yet.
    if (this.#startError === null && this.#tx.ended) this.#startError = ringCorrupt('the peer set the end-of-stream flag of our own ring');

    const s = this.#socket;
    s[kEngine] = this;
    if (typeof s.setNoDelay === 'function') s.setNoDelay(true);
    s.on('data', socketOnData);
    s.on('end', socketOnEnd);
    s.on('close', socketOnClose);
    s.on('error', socketOnError);
    s.resume();
    if (init.rest.length > 0) this.#bellsReceived += init.rest.length;
    // Data may already be waiting (the peer went live first).
    this.#schedule();
  }

  // ---- Engine --------------------------------------------------------------

  write(chunks: Buffer[], cb: (err?: Error | null) => void): void {
    if (this.#startError !== null) {
      cb(this.#startError);
      return;
    }
    if (this.#closed || this.#peerClosed) {
      cb(new ShmnetError(codes.SOCKET_CLOSED, 'the peer has closed the connection; it reads no more'));
      return;
    }
    // Fast path: one chunk that fits.
    if (chunks.length === 1) {
      const chunk = chunks[0]!;
      let n: number;
      try {
        n = this.#tx.write(chunk);
      } catch (err) {
        this.#fail(err);
        cb(err as Error);
        return;
      }
      if (n > 0) {
        this.#wrote(n);
        // SYNC POINT with the consumer's park(): after publishing, even a partial write wakes a parked reader.
        if (this.#tx.consumerNeedsWake()) this.#ring();
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
    // Never drain (push 'data') from inside write(): a stream user such as
    // http2's JSStreamSocket does not expect reads while it is writing.
    this.#pump(false);
  }

  tryWrite(chunk: Uint8Array): boolean {
    if (this.#startError !== null || this.#closed || this.#peerClosed || this.#wChunks !== null) return false;
    if (!this.#tx.writeAll(chunk)) return false;
    this.#wrote(chunk.length);
    // SYNC POINT with the consumer's park(): after publishing, as in write().
    if (this.#tx.consumerNeedsWake()) this.#ring();
    return true;
  }

  read(): void {
    if (this.#rxEnded || this.#closed) return;
    this.#wantRead = true;
    this.#pump();
  }

  final(cb: (err?: Error | null) => void): void {
    if (this.#startError !== null) {
      cb(this.#startError);
      return;
    }
    if (this.#closed) {
      cb(new ShmnetError(codes.SOCKET_CLOSED, 'the connection is closed'));
      return;
    }
    try {
      this.#tx.end();
    } catch (err) {
      cb(err as Error);
      return;
    }
    // Always ring on FIN: cheap once, and the peer may be parked or paused.
    this.#ring();
    cb();
  }

  destroy(err: Error | null): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#immediate) {
      clearImmediate(this.#immediate);
      this.#immediate = null;
    }
    const graceful = err === null && this.#rxEnded && this.#tx.ended;
    // A destroyed Conn still ends its stream, so the peer sees 'end' after
    // the bytes already published (as a TCP close sends FIN).
    if (!this.#tx.ended) {
      try {
        this.#tx.end();
      } catch {
        // a corrupt ring: the socket close below tells the peer
      }
    }
    const s = this.#socket;
    s.off('data', socketOnData);
    s.off('end', socketOnEnd);
    s.off('close', socketOnClose);
    s.off('error', socketOnError);
    s.on('error', noop);
    delete s[kEngine];
    if (graceful && !this.#peerClosed) s.end();
    else s.destroy();
    const cb = this.#wCb;
    this.#wChunks = null;
    this.#wCb = null;
    if (cb) cb(err ?? new ShmnetError(codes.SOCKET_CLOSED, 'the connection was destroyed'));
    // Drop our reference; the memory is unmapped once both sides let go.
    this.#region?.close();
    this.#region = null;
  }

  ref(): void {
    this.#socket.ref();
  }

  unref(): void {
    this.#socket.unref();
  }

  stats(): Record<string, unknown> {
    return {
      segment: this.#segment,
      ringSize: this.#capacity,
      chunksIn: this.#chunksIn,
      chunksOut: this.#chunksOut,
      doorbellsSent: this.#bellsSent,
      doorbellsReceived: this.#bellsReceived,
      parks: this.#parks,
      spinTurns: this.#spinTurns,
      peakRxOccupancy: this.#peakRx,
      peakTxOccupancy: this.#peakTx,
      rxOccupancy: this.#closed ? 0 : this.#occupancy(() => this.#rx.readable()),
      txOccupancy: this.#closed ? 0 : this.#occupancy(() => this.#capacity - this.#tx.writable()),
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

  // ---- socket events (module-level listeners call these) -------------------

  /** @internal A doorbell: something changed in one of the rings. */
  _onBell(n: number): void {
    this.#bellsReceived += n;
    this.#pump();
  }

  /** @internal The control socket ended, closed or failed. */
  _onSocketGone(err: Error | null): void {
    if (this.#closed || this.#peerClosed) return;
    this.#peerClosed = true;
    let orderly: boolean;
    try {
      // SYNC POINT with the peer's RingProducer.end(): FIN is published
      // before the peer closes its socket, so an orderly close shows it here.
      orderly = Atomics.load(this.#rx.controlWords, FIN_INDEX) === 1;
    } catch {
      orderly = false;
    }
    if (!orderly) {
      const why = err ? `: ${err.message}` : '';
      this.#conn.destroy(new ShmnetError(codes.PEER_GONE, `the peer went away without ending the stream${why}`));
      return;
    }
    if (this.#wChunks !== null) {
      this.#failPendingWrite();
      return;
    }
    // Orderly: what is left in the RX ring is still ours to read.
    this.#pump();
  }

  // ---- internals -------------------------------------------------------------

  #wrote(n: number): void {
    this.#chunksOut++;
    this.#conn._countWritten(n);
  }

  #ring(): void {
    const s = this.#socket;
    if (this.#peerClosed || s.destroyed || s.writableLength > MAX_BELL_BACKLOG) return;
    this.#bellsSent++;
    s.write(BELL);
  }

  #schedule(): void {
    if (this.#immediate === null && !this.#closed) this.#immediate = setImmediate(this.#runPump);
  }

  #fail(err: unknown): void {
    this.#conn.destroy(err as Error);
  }

  #failPendingWrite(): void {
    const cb = this.#wCb;
    this.#wChunks = null;
    this.#wCb = null;
    const err = new ShmnetError(codes.SOCKET_CLOSED, 'the peer closed the connection before reading everything written');
    if (cb) cb(err);
    this.#conn.destroy(err);
  }

  #pump(drain = true): void {
    if (this.#closed) return;
    if (this.#startError !== null) {
      this.#fail(this.#startError);
      return;
    }
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
      this.#fail(err);
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
    if (moved) {
      const used = this.#capacity - tx.writable();
      if (used > this.#peakTx) this.#peakTx = used;
      if (tx.consumerNeedsWake()) this.#ring();
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
    const rx = this.#rx;
    const conn = this.#conn;
    let moved = false;
    for (;;) {
      const avail = rx.readable();
      if (avail > this.#peakRx) this.#peakRx = avail;
      const buf = avail === 0 ? null : rx.readBuffer(READ_CHUNK);
      if (buf === null) break;
      moved = true;
      this.#chunksIn++;
      conn._countRead(buf.length);
      // Cleared before push: a _read re-entered from inside push() sets it again.
      this.#wantRead = false;
      if (conn.push(buf)) this.#wantRead = true;
      if (!this.#wantRead || this.#closed) break;
    }
    if (moved && !this.#closed && rx.producerNeedsWake()) this.#ring();
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
    if (!waitWrite && !waitRead) {
      this.#waitingSince = 0;
      return;
    }
    // Nobody rings after an orderly close: the peer left everything in the
    // ring and drain() has taken it; a pending write was failed above.
    if (this.#peerClosed) return;
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
    if (waitRead && this.#rx.park()) ready = true;
    if (waitWrite && this.#tx.park()) ready = true;
    if (ready) this.#schedule();
  }
}
