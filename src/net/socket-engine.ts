/**
 * The fallback engine: the control socket itself carries the bytes, with
 * the same Conn API. Used when the peers are on different hosts, when
 * shared memory cannot be created or mapped, or with `transport: 'tcp'`.
 */
import type { Socket } from 'node:net';
import { codes, ShmnetError } from '../errors.js';
import type { Conn } from '../stream/conn.js';
import type { Engine, EngineStats } from '../stream/engine.js';
import type { OnreadTarget } from '../stream/onread.js';
import { listenToSocket, stopListening, type SocketListeners } from './control-socket.js';

const kEngine = Symbol('shmnet.socketEngine');
type EngineSocket = Socket & { [kEngine]?: SocketEngine };

function socketOnData(this: EngineSocket, chunk: Buffer): void {
  this[kEngine]?._onData(chunk);
}
function socketOnEnd(this: EngineSocket): void {
  this[kEngine]?._onEnd();
}
function socketOnError(this: EngineSocket, err: Error): void {
  this[kEngine]?._onError(err);
}
function socketOnClose(this: EngineSocket): void {
  this[kEngine]?._onClose();
}
function deliverLater(engine: SocketEngine): void {
  engine._deliver();
}
const listeners: SocketListeners = { data: socketOnData, end: socketOnEnd, close: socketOnClose, error: socketOnError };

/**
 * In onread mode (`conn._onread` set) a socket chunk is copied into the
 * caller's buffer piece by piece, one callback per fill. When the callback
 * stops reading mid-chunk, the socket is paused and the rest of the chunk
 * waits in `#pending` until `read()`; the peer's end is held back until
 * that rest is delivered.
 */
export class SocketEngine implements Engine {
  readonly transport = 'tcp' as const;
  readonly #conn: Conn;
  readonly #socket: EngineSocket;
  readonly #onread: OnreadTarget | null;
  #ended = false;
  #closed = false;
  #chunksIn = 0;
  #chunksOut = 0;
  // onread mode: reading is on; the undelivered rest of a chunk; the end arrived behind it.
  #reading = false;
  #pending: Buffer | null = null;
  #pendingOffset = 0;
  #endHeld = false;
  #deliverQueued = false;

  constructor(conn: Conn, socket: Socket, rest: Buffer) {
    this.#conn = conn;
    this.#socket = socket as EngineSocket;
    this.#onread = conn._onread;
    const s = this.#socket;
    s[kEngine] = this;
    listenToSocket(s, listeners);
    // Bytes that arrived with the last handshake frame come first (in
    // onread mode on the first read(): never before 'connect').
    if (rest.length > 0 && this.#onread === null) {
      this._onData(rest);
      return;
    }
    if (rest.length > 0) this.#pending = rest;
    s.pause();
  }

  write(chunks: Buffer[], cb: (err?: Error | null) => void): void {
    const s = this.#socket;
    if (this.#closed || s.destroyed) {
      cb(new ShmnetError(codes.SOCKET_CLOSED, 'the connection is closed'));
      return;
    }
    const last = chunks.length - 1;
    for (let i = 0; i < last; i++) this.#count(chunks[i]!.length);
    for (let i = 0; i < last; i++) s.write(chunks[i]!);
    this.#count(chunks[last]!.length);
    s.write(chunks[last]!, cb);
  }

  #count(n: number): void {
    this.#chunksOut++;
    this.#conn._countWritten(n);
  }

  read(): void {
    if (this.#closed) return;
    if (this.#onread !== null) {
      this.#reading = true;
      // As the ring pump: never call back inside resume()/read().
      if (this.#pending !== null || this.#endHeld) {
        if (!this.#deliverQueued) {
          this.#deliverQueued = true;
          process.nextTick(deliverLater, this);
        }
        return;
      }
    }
    if (!this.#ended) this.#socket.resume();
  }

  readStop(): void {
    this.#reading = false;
    this.#socket.pause();
  }

  final(cb: (err?: Error | null) => void): void {
    this.#socket.end(cb);
  }

  destroy(_err: Error | null): void {
    if (this.#closed) return;
    this.#closed = true;
    const s = this.#socket;
    stopListening(s, listeners);
    delete s[kEngine];
    s.destroy();
  }

  /** A TCP control socket resets (RST); a Unix socket cannot, and closes. */
  reset(): void {
    const s = this.#socket as Socket & { resetAndDestroy?: () => void; _handle?: unknown };
    if (this.#closed) return;
    try {
      s.resetAndDestroy?.();
    } catch {
      // not a TCP handle: destroy() follows
    }
  }

  ref(): void {
    this.#socket.ref();
  }

  unref(): void {
    this.#socket.unref();
  }

  stats(): EngineStats {
    return { chunksIn: this.#chunksIn, chunksOut: this.#chunksOut };
  }

  /** @internal */
  _onData(chunk: Buffer): void {
    this.#chunksIn++;
    if (this.#onread === null) {
      this.#conn._countRead(chunk.length);
      if (!this.#conn.push(chunk)) this.#socket.pause();
      return;
    }
    // A paused socket emits nothing more, so a rest is rarely still here.
    this.#pending = this.#pending === null ? chunk : Buffer.concat([this.#pending.subarray(this.#pendingOffset), chunk]);
    this.#pendingOffset = 0;
    this._deliver();
  }

  /** @internal onread: hands the pending chunk to the callback, one buffer-full at a time, while reading is on. */
  _deliver(): void {
    this.#deliverQueued = false;
    const onread = this.#onread!;
    while (this.#pending !== null && this.#reading && !this.#closed) {
      const chunk = this.#pending;
      const buf = onread.buffer;
      const from = this.#pendingOffset;
      const n = Math.min(buf.length, chunk.length - from);
      buf.set(n === chunk.length ? chunk : chunk.subarray(from, from + n));
      if (from + n === chunk.length) this.#pending = null;
      else this.#pendingOffset = from + n;
      this.#conn._countRead(n);
      if (!onread.deliver(n)) this.readStop();
    }
    if (this.#pending !== null || this.#closed) return;
    if (this.#endHeld) {
      this.#endHeld = false;
      this.#conn._pushEnd();
    } else if (this.#reading && !this.#ended) {
      this.#socket.resume();
    }
  }

  /** @internal */
  _onEnd(): void {
    this.#ended = true;
    if (this.#pending !== null) this.#endHeld = true;
    else this.#conn._pushEnd();
  }

  /** @internal */
  _onError(err: Error): void {
    this.#conn.destroy(err);
  }

  /** @internal */
  _onClose(): void {
    if (this.#closed) return;
    if (!this.#ended) {
      this.#conn.destroy(new ShmnetError(codes.PEER_GONE, 'the peer closed the connection without ending the stream'));
    }
  }
}
