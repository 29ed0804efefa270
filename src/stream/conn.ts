/**
 * `Conn`: a Duplex that behaves like a `net.Socket`, whatever carries its
 * bytes. A Conn exists before its transport is known (like a connecting
 * net.Socket); once the MapInfo exchange is done it gets an engine:
 *
 *   - a `RingPump` (ring-pump.ts) over the two rings of a region, driven
 *     by `ShmEngine` (../net/shm-engine.ts, the control socket as doorbell
 *     and liveness signal) or by a worker channel (../channel/);
 *   - `SocketEngine` (../net/socket-engine.ts): the control socket itself (fallback).
 *
 * The behaviour contract is Node's net.Socket: writes before 'connect' are
 * queued; `push()` returning false stops reading until `_read`; `_final`
 * ends only the write side (half-close); 'end' precedes 'close';
 * `allowHalfOpen` as in net.
 *
 * Over rings a Conn also has zero-copy lanes (`claim`/`commit`,
 * `borrow`/`release`; ring-pump.ts "Lanes" has the rules); over the
 * socket fallback they throw SHMNET_ERR_UNSUPPORTED.
 */
import { Duplex } from 'node:stream';
import type { AddressInfo, Socket } from 'node:net';
import { closedError, codes, ShmnetError, invalidArg, invalidState } from '../errors.js';
import { checkLaneEnd, checkLaneMax } from '../ring/ring.js';
import { publishClose, type Role } from './diagnostics.js';
import type { Engine, Lanes, RingStats, Transport } from './engine.js';
import type { PeerCredentials } from '../handshake/peer-cred.js';
import { OnreadTarget, type OnreadOptions } from './onread.js';

/**
 * What `conn.stats()` returns: the Conn's own counters, its engine's
 * (`chunksIn`/`chunksOut` once connected) and, over rings, the ring
 * counters and the transport's (doorbells, or a channel's wakes and probes).
 */
export interface ConnStats extends Partial<RingStats> {
  transport: Transport | 'pending';
  bytesRead: number;
  bytesWritten: number;
  handshakeMs: number;
  [counter: string]: string | number | boolean | undefined;
}

export interface ConnInit {
  /** Which end of the handshake this Conn is. */
  role: Role;
  allowHalfOpen: boolean;
  /** As net.Server's pauseOnConnect: the Conn starts paused and reads nothing until resume(). */
  pauseOnCreate?: boolean;
  /** The Server that accepted this Conn. */
  server?: unknown;
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
  /** As net.connect's `onread` (checked by the caller with checkOnread). */
  onread?: OnreadOptions;
}

const STREAM_HWM = 64 * 1024;

/** What a connected control socket says about its two ends. */
interface SocketNames {
  remoteAddress?: string;
  remotePort?: number;
  remoteFamily?: string;
  localAddress?: string;
  localPort?: number;
  localFamily?: string;
}

function namesOf(socket: Socket): SocketNames {
  const s = socket as Socket & { localFamily?: string };
  return {
    remoteAddress: s.remoteAddress,
    remotePort: s.remotePort,
    remoteFamily: s.remoteFamily,
    localAddress: s.localAddress,
    localPort: s.localPort,
    localFamily: s.localFamily,
  };
}

export class Conn extends Duplex {
  /** 'client' for a Conn from connect(), 'server' for one a Server accepted. */
  readonly role: Role;
  /** Set once the handshake picked a transport. */
  #engine: Engine | null = null;
  #socket: Socket | null = null;
  /**
   * The control socket's addresses, read once it is connected: a net.Socket
   * keeps answering remoteAddress after it closed, and so does a Conn, even
   * when the peer left between the handshake and the first question.
   */
  #names: SocketNames | null = null;
  /** The control socket emitted 'close' (its `closed` turns true earlier, at destroy()). */
  #socketClosed = false;
  /** A write that arrived before the engine. */
  #queued: { chunks: Buffer[]; cb: (err?: Error | null) => void } | null = null;
  #wantRead = false;
  #finalCb: ((err?: Error | null) => void) | null = null;
  #connecting = true;
  #refed = true;
  #timeoutMs = 0;
  /** What `conn.timeout` shows: as on a net.Socket, the last setTimeout() value or what was assigned. */
  #timeoutProp: number | undefined = undefined;
  /** Bytes write() and end() accepted (as net counts them: pending ones included). */
  #accepted = 0;
  readonly #pauseOnCreate: boolean;
  /** As net.Socket#server: the Server that accepted this Conn (null for a client). */
  server: unknown;
  #timer: NodeJS.Timeout | null = null;
  /** Last time bytes moved, for setTimeout (ms, performance.now()). */
  #lastActive = 0;
  #bytesRead = 0;
  /** Handshake duration, ms. */
  handshakeMs = 0;
  /**
   * The process at the other end as the kernel knows it (`SO_PEERCRED` on
   * Linux, `getpeereid` on macOS) when the control channel is a Unix
   * socket; null over TCP and named pipes, and before 'connect'.
   */
  peer: PeerCredentials | null = null;
  /** Set in onread mode: engines copy into its buffer instead of pushing (onread.ts). */
  readonly #onread: OnreadTarget | null;
  /** A borrow handed out of the stream's own buffer (bytes pushed before the first borrow). */
  #heldBuffered: Buffer | null = null;

  constructor(init: ConnInit) {
    super({
      allowHalfOpen: init.allowHalfOpen,
      readableHighWaterMark: init.readableHighWaterMark ?? STREAM_HWM,
      writableHighWaterMark: init.writableHighWaterMark ?? STREAM_HWM,
      // 'close' only after the peer-facing work is done in _destroy.
      // 'close' carries hadError, as net's does: emitted by _destroy once the control socket closed.
      emitClose: false,
      autoDestroy: true,
      // As net.Socket: writableLength counts a string's characters; _write converts.
      decodeStrings: false,
    });
    this.role = init.role;
    this.server = init.server ?? null;
    this.#pauseOnCreate = init.pauseOnCreate === true;
    this.#onread = init.onread === undefined ? null : new OnreadTarget(init.onread, this);
    if (this.#pauseOnCreate) this.pause();
  }

  /** @internal The onread state engines deliver to, or null in the default 'data' mode. */
  get _onread(): OnreadTarget | null {
    return this.#onread;
  }

  // ---- wiring (used by connect() and Server) -------------------------------

  /** @internal Records the control socket (for addresses and ref) before the handshake ends. */
  _setSocket(socket: Socket): void {
    this.#socket = socket;
    socket.once('close', () => (this.#socketClosed = true));
    if (!socket.connecting) this.#names = namesOf(socket);
    if (!this.#refed) socket.unref();
  }

  /** @internal Attaches the engine the handshake chose and starts moving bytes. */
  _attach(engine: Engine): void {
    if (this.destroyed) {
      engine.destroy(null);
      return;
    }
    this.#engine = engine;
    this.#connecting = false;
    if (this.#names === null && this.#socket && !this.#socket.connecting) this.#names = namesOf(this.#socket);
    this.#lastActive = performance.now();
    if (!this.#refed) engine.unref();
    const q = this.#queued;
    this.#queued = null;
    if (q) engine.write(q.chunks, q.cb);
    if (this.#finalCb) {
      const cb = this.#finalCb;
      this.#finalCb = null;
      engine.final(cb);
    }
    if (this.#wantRead) {
      this.#wantRead = false;
      engine.read();
    } else if (!this.#pauseOnCreate && (this.role === 'server' || !this.isPaused())) {
      // As net.Socket starts reading at connect: the peer's end is seen even if nobody reads.
      this.read(0);
    }
  }

  /** @internal The engine saw the peer's end of stream: as net, push(null) then read(0) so 'end' comes even when nobody reads. */
  _pushEnd(): void {
    this.push(null);
    this.read(0);
  }

  /** @internal Engines report moved bytes here. */
  _countRead(n: number): void {
    this.#bytesRead += n;
    if (this.#timeoutMs !== 0) this.#lastActive = performance.now();
  }

  /** @internal */
  _countWritten(_n: number): void {
    if (this.#timeoutMs !== 0) this.#lastActive = performance.now();
  }

  // ---- Duplex implementation ----------------------------------------------

  override _read(): void {
    if (this.#engine) this.#engine.read();
    else this.#wantRead = true;
  }

  // In onread mode nothing is pushed, so Readable never calls _read again
  // after the first time: as net.Socket does for onread, pause() stops the
  // engine reading and resume()/read() start it again.

  override pause(): this {
    if (this.#onread !== null) this.#engine?.readStop();
    return super.pause();
  }

  override resume(): this {
    if (this.#heldBuffered !== null) throw invalidState('resume: a borrow is held; release() it first');
    this.#engine?.lanes?.stopBorrowing();
    if (this.#onread !== null && this.#engine !== null) this.#engine.read();
    return super.resume();
  }

  override read(n?: number): ReturnType<Duplex['read']> {
    if (this.#onread !== null && this.#engine !== null) this.#engine.read();
    return super.read(n);
  }

  /**
   * Writable.write(), with a shortcut for the common case: a non-empty
   * binary chunk without a callback, nothing buffered, not corked, and room
   * for it in the ring. Then the bytes go straight into the ring and no
   * stream bookkeeping happens at all (the Writable would have called
   * `_write` synchronously and completed it anyway). Everything else —
   * strings, callbacks, corking, a full ring, an ended or destroyed stream,
   * a pending connection, the socket fallback — takes Writable's path.
   */
  override write(chunk: unknown, encoding?: BufferEncoding | ((err?: Error | null) => void), cb?: (err?: Error | null) => void): boolean {
    if (!this.allowHalfOpen && this.readableEnded && this.writableEnded) {
      // As net: the peer ended and so did we; the write fails with EPIPE.
      const err = new ShmnetError(codes.SOCKET_CLOSED, 'this connection has been ended by the other party', { sysCode: 'EPIPE', syscall: 'write' });
      const done = typeof encoding === 'function' ? encoding : cb;
      if (typeof done === 'function') process.nextTick(done, err);
      this.destroy(err);
      return false;
    }
    this.#accept(chunk, encoding);
    const engine = this.#engine;
    if (
      encoding === undefined &&
      engine !== null &&
      engine.tryWrite !== undefined &&
      chunk instanceof Uint8Array &&
      chunk.length !== 0 &&
      this.writableLength === 0 &&
      this.writableCorked === 0 &&
      this.writable
    ) {
      try {
        if (engine.tryWrite(chunk)) return true;
      } catch (err) {
        this.destroy(err as Error);
        return false;
      }
    }
    return super.write(chunk, encoding as BufferEncoding, cb);
  }

  override end(chunk?: unknown, encoding?: unknown, cb?: unknown): this {
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') this.#accept(chunk, encoding);
    return super.end(chunk as never, encoding as never, cb as never);
  }

  /** Counts what write()/end() hand to a stream that still takes writes, in bytes (net's bytesWritten). */
  #accept(chunk: unknown, encoding: unknown): void {
    if (this.writableEnded || this.destroyed) return;
    if (typeof chunk === 'string') this.#accepted += Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    else if (chunk instanceof Uint8Array) this.#accepted += chunk.byteLength;
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
    if (this.#engine) this.#engine.write([buf], cb);
    else this.#queued = { chunks: [buf], cb };
  }

  override _writev(chunks: Array<{ chunk: Buffer | string; encoding: BufferEncoding }>, cb: (err?: Error | null) => void): void {
    const bufs = new Array<Buffer>(chunks.length);
    for (let i = 0; i < chunks.length; i++) {
      const { chunk, encoding } = chunks[i]!;
      bufs[i] = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
    }
    if (this.#engine) this.#engine.write(bufs, cb);
    else this.#queued = { chunks: bufs, cb };
  }

  override _final(cb: (err?: Error | null) => void): void {
    // As net, 'finish' does not come synchronously within end(): a write
    // right after end() fails before it.
    const done = (err?: Error | null) => process.nextTick(cb, err);
    if (this.#engine) this.#engine.final(done);
    else this.#finalCb = done;
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.#clearTimer();
    this.#connecting = false;
    const engine = this.#engine;
    if (engine) {
      engine.destroy(err);
    } else if (this.#socket) {
      this.#socket.destroy();
    }
    const q = this.#queued;
    this.#queued = null;
    if (q) q.cb(err ?? new ShmnetError(codes.SOCKET_CLOSED, 'the connection was destroyed before it was established'));
    publishClose(this.role, this, err ? String((err as Error & { code?: unknown }).code ?? 'ERR_UNKNOWN') : null);
    cb(err);
    // As net: 'close' (with hadError) once the handle, here the control socket, has closed.
    const hadError = err !== null && err !== undefined;
    const s = this.#socket;
    if (s && !this.#socketClosed) s.once('close', () => this.emit('close', hadError));
    else process.nextTick(() => this.emit('close', hadError));
  }

  // ---- zero-copy lanes ------------------------------------------------------

  #lanes(what: string): Lanes {
    if (this.destroyed) throw closedError('Conn');
    const engine = this.#engine;
    if (engine === null) throw invalidState(`${what}: the Conn is not connected yet; wait for 'connect'`);
    if (engine.lanes === undefined) {
      throw new ShmnetError(codes.UNSUPPORTED, `${what}: zero-copy lanes need a ring; this Conn runs over '${engine.transport}' (use write() and 'data')`);
    }
    return engine.lanes;
  }

  /**
   * Zero-copy write: reserves up to `max` free bytes of the TX ring and
   * returns them as a view in place (contiguous: at the end of the ring
   * the view is shorter; claim again for the rest). Fill a prefix, then
   * `commit()` it. Returns null when the ring is full: 'claimable' is
   * emitted once there is space (or when the Conn was destroyed because
   * the ring turned out corrupt). Refused (SHMNET_ERR_INVALID_STATE) while
   * a claim is outstanding, while stream writes are pending (wait for
   * 'drain'), and after end(); a write() made while a claim is held waits
   * behind it. Over the socket fallback: SHMNET_ERR_UNSUPPORTED.
   */
  claim(max: number): Uint8Array | null {
    const lanes = this.#lanes('claim');
    checkLaneMax('Conn.claim', max);
    if (this.writableEnded) throw invalidState('claim: end() was called');
    if (this.writableLength > 0) throw invalidState("claim: stream writes are pending; wait for 'drain'");
    return lanes.claim(max);
  }

  /**
   * Publishes the first `n` bytes of the outstanding claim (0 gives it
   * up) and wakes a parked reader, as a write does. More than the claim is
   * SHMNET_ERR_OUT_OF_RANGE; none outstanding SHMNET_ERR_INVALID_STATE;
   * after destroy() (or end(), which voids the claim) SHMNET_ERR_CLOSED.
   */
  commit(n: number): void {
    this.#lanes('commit').commit(n);
    this.#accepted += n;
  }

  /**
   * Zero-copy read: a view, in place, of up to `max` readable bytes
   * (contiguous: at the end of the ring it is shorter). Read what you
   * need, then `release()` it. The first borrow switches the Conn to
   * borrowing: it must not be flowing (pause() first, or never attach
   * 'data'); bytes the stream already buffered come first, then the ring's;
   * no 'data' is emitted until resume(). Returns null when nothing is
   * there yet ('borrowable' follows) or at the end of stream ('end'
   * follows). A second borrow while one is held is
   * SHMNET_ERR_INVALID_STATE, as is borrowing with onread. The view is
   * shared memory: see the README on what a hostile peer can do to it.
   */
  borrow(max?: number): Uint8Array | null {
    const lanes = this.#lanes('borrow');
    if (max !== undefined) checkLaneMax('Conn.borrow', max);
    if (this.#onread !== null) throw invalidState('borrow: this Conn reads through onread');
    if (this.#heldBuffered !== null) throw invalidState('borrow: a borrow is already held; release() it first');
    if (this.readableFlowing === true) throw invalidState("borrow: the Conn is flowing ('data' listeners); pause() it first");
    lanes.startBorrowing();
    if (this.readableLength > 0) {
      let buf = super.read() as Buffer;
      if (max !== undefined && buf.length > max) {
        this.unshift(buf.subarray(max));
        buf = buf.subarray(0, max);
      }
      this.#heldBuffered = buf;
      return buf;
    }
    return lanes.borrow(max);
  }

  /**
   * Frees the first `n` bytes of the outstanding borrow (0 frees nothing);
   * the rest comes again with the next borrow. Wakes a writer parked on a
   * full ring. The released bytes may be overwritten at once: copy out
   * what you keep. More than the borrow is SHMNET_ERR_OUT_OF_RANGE, none
   * held SHMNET_ERR_INVALID_STATE, after destroy() SHMNET_ERR_CLOSED.
   */
  release(n: number): void {
    const lanes = this.#lanes('release');
    const held = this.#heldBuffered;
    if (held === null) {
      lanes.release(n);
      return;
    }
    checkLaneEnd('Conn.release', n, held.length, 'borrow');
    this.#heldBuffered = null;
    if (n < held.length) this.unshift(held.subarray(n));
  }

  // ---- net.Socket surface --------------------------------------------------

  /** 'shm' when bytes flow through shared memory, 'tcp' when through the socket (fallback). */
  get transport(): Transport | undefined {
    return this.#engine?.transport;
  }

  get connecting(): boolean {
    return this.#connecting;
  }

  get pending(): boolean {
    return this.#engine === null;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.#connecting) return 'opening';
    if (this.destroyed) return 'closed';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** What write() and end() accepted, pending bytes included (as net.Socket). */
  get bytesWritten(): number {
    return this.#accepted;
  }

  /** @deprecated as on net.Socket: `writableLength`. */
  get bufferSize(): number | undefined {
    return this.#socket ? this.writableLength : undefined;
  }

  /** As net.Socket: the addresses tried by autoSelectFamily (on the control socket). */
  get autoSelectFamilyAttemptedAddresses(): string[] | undefined {
    return (this.#socket as (Socket & { autoSelectFamilyAttemptedAddresses?: string[] }) | null)?.autoSelectFamilyAttemptedAddresses;
  }

  /** A Conn is not reconnected: connect a new one. */
  connect(..._args: unknown[]): never {
    throw new ShmnetError(codes.UNSUPPORTED, 'a Conn cannot be reconnected; call connect() for a new one');
  }

  get remoteAddress(): string | undefined {
    return this.#socket?.remoteAddress ?? this.#names?.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.#socket?.remotePort ?? this.#names?.remotePort;
  }

  get remoteFamily(): string | undefined {
    return this.#socket?.remoteFamily ?? this.#names?.remoteFamily;
  }

  get localAddress(): string | undefined {
    return this.#socket?.localAddress ?? this.#names?.localAddress;
  }

  get localPort(): number | undefined {
    return this.#socket?.localPort ?? this.#names?.localPort;
  }

  get localFamily(): string | undefined {
    return (this.#socket as Socket & { localFamily?: string } | null)?.localFamily ?? this.#names?.localFamily;
  }

  address(): AddressInfo | Record<string, never> {
    return (this.#socket?.address() as AddressInfo | undefined) ?? {};
  }

  /** The control socket; bytes on it are doorbells in 'shm' mode. */
  get socket(): Socket | null {
    return this.#socket;
  }

  /** Accepted for compatibility; the control socket always has Nagle off. */
  setNoDelay(_noDelay = true): this {
    return this;
  }

  /** Applies to the control socket, which is what detects a dead peer. */
  setKeepAlive(enable = false, initialDelay = 0): this {
    this.#socket?.setKeepAlive(enable, initialDelay);
    return this;
  }

  /**
   * Emits 'timeout' after `ms` without bytes moving either way, as
   * net.Socket does; the Conn stays open. `0` disables it.
   */
  setTimeout(ms: number, cb?: () => void): this {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw invalidArg(`timeout must be a non-negative number, got ${String(ms)}`);
    if (cb !== undefined) {
      if (typeof cb !== 'function') throw invalidArg('callback must be a function');
      if (ms === 0) this.removeListener('timeout', cb);
      else this.once('timeout', cb);
    }
    this.#timeoutMs = ms;
    this.#timeoutProp = ms;
    this.#clearTimer();
    if (ms > 0 && !this.destroyed) {
      this.#lastActive = performance.now();
      this.#armTimer(ms);
    }
    return this;
  }

  /** As net.Socket#timeout: the last setTimeout() value; assigning it changes only what it shows, as in net. */
  get timeout(): number | undefined {
    return this.#timeoutProp;
  }

  set timeout(v: number | undefined) {
    this.#timeoutProp = v;
  }

  #armTimer(delay: number): void {
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(1, Math.ceil(delay)));
    this.#timer.unref();
  }

  #onTimer(): void {
    this.#timer = null;
    if (this.destroyed || this.#timeoutMs === 0) return;
    const idle = performance.now() - this.#lastActive;
    if (idle + 1 >= this.#timeoutMs) {
      this.#lastActive = performance.now();
      this.emit('timeout');
      this.#armTimer(this.#timeoutMs);
    } else {
      this.#armTimer(this.#timeoutMs - idle);
    }
  }

  #clearTimer(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  ref(): this {
    this.#refed = true;
    if (this.#engine) this.#engine.ref();
    else this.#socket?.ref();
    return this;
  }

  unref(): this {
    this.#refed = false;
    if (this.#engine) this.#engine.unref();
    else this.#socket?.unref();
    return this;
  }

  /** Ends the writable side once queued writes are flushed, then destroys (as net.Socket). */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** As net.Socket: closes abortively; the peer gets a reset (`sysCode` 'ECONNRESET'), not an end. */
  resetAndDestroy(): this {
    if (this.destroyed) return this;
    if (this.#engine === null) {
      // As net: a connecting socket resets once connected.
      this.once('connect', () => this.resetAndDestroy());
      return this;
    }
    this.#engine.reset();
    return this.destroy();
  }

  /** A plain object of counters (see the README's "Seeing inside"). */
  stats(): ConnStats {
    return {
      transport: this.transport ?? 'pending',
      bytesRead: this.#bytesRead,
      bytesWritten: this.#accepted,
      handshakeMs: this.handshakeMs,
      ...(this.#engine?.stats() ?? {}),
    };
  }
}
