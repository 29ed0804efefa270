/**
 * The fallback engine: the control socket itself carries the bytes, with
 * the same Conn API. Used when the peers are on different hosts, when
 * shared memory cannot be created or mapped, or with `transport: 'tcp'`.
 */
import type { Socket } from 'node:net';
import { codes, ShmnetError } from '../errors.js';
import type { Conn } from '../stream/conn.js';
import type { Engine, EngineStats } from '../stream/engine.js';
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
const listeners: SocketListeners = { data: socketOnData, end: socketOnEnd, close: socketOnClose, error: socketOnError };

export class SocketEngine implements Engine {
  readonly transport = 'tcp' as const;
  readonly #conn: Conn;
  readonly #socket: EngineSocket;
  #ended = false;
  #closed = false;
  #chunksIn = 0;
  #chunksOut = 0;

  constructor(conn: Conn, socket: Socket, rest: Buffer) {
    this.#conn = conn;
    this.#socket = socket as EngineSocket;
    const s = this.#socket;
    s[kEngine] = this;
    listenToSocket(s, listeners);
    // Bytes that arrived with the last handshake frame come first.
    if (rest.length > 0) this._onData(rest);
    else s.pause();
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
    if (!this.#ended && !this.#closed) this.#socket.resume();
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
    this.#conn._countRead(chunk.length);
    if (!this.#conn.push(chunk)) this.#socket.pause();
  }

  /** @internal */
  _onEnd(): void {
    this.#ended = true;
    this.#conn._pushEnd();
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
