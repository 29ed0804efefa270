/**
 * `Server`: listens like net.Server (TCP port, Unix socket path, Windows
 * named pipe), runs the server half of the MapInfo exchange on each
 * accepted control socket and emits a ready `Conn` as 'connection'.
 */
import { EventEmitter, setMaxListeners } from 'node:events';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { codes, invalidArg, ShmnetError } from '../errors.js';
import { serverHandshake } from '../handshake/server.js';
import { sweepStaleOnce } from '../handshake/sweep.js';
import { Conn } from '../stream/conn.js';
import { checkOnread, type OnreadOptions } from '../stream/onread.js';
import { resolveOptions, SOCKET_SERVER_KEYS, streamMarks, type ResolvedOptions, type ServerTransportOptions } from './options.js';
import { wireOutcome } from './wire.js';
import { publishConnect, publishHandshake } from '../stream/diagnostics.js';

export interface ServerOptions extends ServerTransportOptions {
  /** As in net: an accepted Conn starts paused and reads nothing until resume(). */
  pauseOnConnect?: boolean;
  /** As in net: the accepted Conn's stream buffer sizes. */
  highWaterMark?: number;
  /** As in net; these apply to each control socket. */
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /**
   * Sockets (handshaking or connected) beyond this many are closed at once,
   * as net.Server's `maxConnections`; bounds what clients can make the
   * server allocate. Default: no limit.
   */
  maxConnections?: number;
  /**
   * node:net's `onread` for every accepted Conn (net.createServer lacks
   * it): the callback runs with the Conn as `this`. A Uint8Array given
   * here is shared by all of them, so the callback must be done with the
   * bytes when it returns; a function gives each read its own buffer.
   */
  onread?: OnreadOptions;
}

export type ConnectionListener = (conn: Conn) => void;

/** What Server.stats() returns. */
export interface ServerStats {
  accepted: number;
  handshakesInProgress: number;
  /** Failed handshakes by error code. */
  handshakeFailures: Record<string, number>;
  fallbacks: number;
  connections: number;
  shmConnections: number;
  bytesIn: number;
  bytesOut: number;
}

class ServerImpl extends EventEmitter {
  readonly #net: NetServer;
  readonly #opts: ResolvedOptions;
  readonly #pauseOnConnect: boolean;
  readonly #marks: { readableHighWaterMark?: number; writableHighWaterMark?: number };
  readonly #onread: OnreadOptions | undefined;
  readonly #conns = new Set<Conn>();
  #handshakes = 0;
  #handshakeFailures = new Map<string, number>();
  #accepted = 0;
  #fallbacks = 0;
  /** Bytes moved by connections that have closed. */
  #closedBytesIn = 0;
  #closedBytesOut = 0;
  /** Aborted by close(): handshakes still running then fail and release their segments. */
  #handshaking = handshakeAborter();

  constructor(options?: ServerOptions | ConnectionListener, listener?: ConnectionListener) {
    super();
    if (typeof options === 'function') {
      listener = options;
      options = undefined;
    }
    this.#opts = resolveOptions(options);
    const raw = (options ?? {}) as Record<string, unknown>;
    this.#pauseOnConnect = raw.pauseOnConnect === true;
    this.#marks = streamMarks(raw);
    this.#onread = checkOnread(raw.onread);
    const socketOpts: Record<string, unknown> = {};
    for (const k of SOCKET_SERVER_KEYS) if (raw[k] !== undefined) socketOpts[k] = raw[k];
    const max = options?.maxConnections;
    if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max) || max < 0)) {
      throw invalidArg(`maxConnections must be a non-negative integer, got ${String(max)}`);
    }
    if (listener !== undefined) {
      if (typeof listener !== 'function') throw invalidArg('connectionListener must be a function');
      this.on('connection', listener);
    }
    this.#net = createNetServer({ ...socketOpts, allowHalfOpen: true, noDelay: true }, (socket) => this.#accept(socket));
    this.#net.on('listening', () => this.emit('listening'));
    this.#net.on('close', () => this.emit('close'));
    this.#net.on('error', (err) => this.emit('error', err));
    this.#net.on('drop', (data) => this.emit('drop', data));
    if (max !== undefined) this.#net.maxConnections = max;
  }

  /** As net.Server#listen: (port[, host][, backlog][, cb]), (path[, backlog][, cb]), (options[, cb]); `backlog` (and `options.backlog`) reaches the listen socket as in node:net. */
  listen(...args: unknown[]): this {
    // Names left in /dev/shm by shmnet processes that died mid-handshake.
    sweepStaleOnce();
    (this.#net.listen as (...a: unknown[]) => NetServer)(...args);
    return this;
  }

  address(): AddressInfo | string | null {
    return this.#net.address();
  }

  get listening(): boolean {
    return this.#net.listening;
  }

  /**
   * Stops accepting; 'close' follows once every connection has closed.
   * Handshakes still in progress fail at once ('handshakeError' with
   * SERVER_NOT_RUNNING): their clients are not connections yet, and a
   * segment waiting for ACK is unlinked now, not at its timeout.
   */
  close(cb?: (err?: Error) => void): this {
    // As net: a non-function argument is ignored; the callback runs after the 'close' listeners so far.
    const done = typeof cb === 'function' ? cb : undefined;
    this.#handshaking.abort();
    this.#handshaking = handshakeAborter();
    if (!this.#net.listening) {
      this.#net.close((err) => {
        if (done) done(err ? new ShmnetError(codes.SERVER_NOT_RUNNING, err.message, { cause: err }) : undefined);
      });
      return this;
    }
    if (done) this.once('close', () => done());
    this.#net.close();
    return this;
  }

  /** As net.Server: closes it (when listening) and resolves once every connection has closed. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#net.listening) return;
    await new Promise<void>((resolve, reject) => this.close((err) => (err ? reject(err) : resolve())));
  }

  /** With captureRejections, as net: a rejected 'connection' listener destroys that Conn with the error. */
  override [EventEmitter.captureRejectionSymbol](err: Error, event: string, ...args: unknown[]): void {
    if (event === 'connection') (args[0] as Conn).destroy(err);
    else this.emit('error', err);
  }

  ref(): this {
    this.#net.ref();
    return this;
  }

  unref(): this {
    this.#net.unref();
    return this;
  }

  get maxConnections(): number {
    return this.#net.maxConnections;
  }

  set maxConnections(n: number) {
    this.#net.maxConnections = n;
  }

  getConnections(cb: (err: Error | null, count: number) => void): this {
    this.#net.getConnections(cb);
    return this;
  }

  /** Aggregate counters (see the README's "Seeing inside"). */
  stats(): ServerStats {
    let bytesIn = this.#closedBytesIn;
    let bytesOut = this.#closedBytesOut;
    let shm = 0;
    for (const c of this.#conns) {
      bytesIn += c.bytesRead;
      bytesOut += c.bytesWritten;
      if (c.transport === 'shm') shm++;
    }
    return {
      accepted: this.#accepted,
      handshakesInProgress: this.#handshakes,
      handshakeFailures: Object.fromEntries(this.#handshakeFailures),
      fallbacks: this.#fallbacks,
      connections: this.#conns.size,
      shmConnections: shm,
      bytesIn,
      bytesOut,
    };
  }

  #accept(socket: Socket): void {
    this.#accepted++;
    this.#handshakes++;
    let conn: Conn;
    try {
      conn = new Conn({
        role: 'server',
        allowHalfOpen: this.#opts.allowHalfOpen,
        pauseOnCreate: this.#pauseOnConnect,
        server: this,
        ...this.#marks,
        ...(this.#onread ? { onread: this.#onread } : null),
      });
    } catch (err) {
      // Only an onread.buffer() that returned no buffer gets here.
      this.#handshakes--;
      socket.destroy();
      this.emit('error', err);
      return;
    }
    conn._setSocket(socket);
    publishConnect('server', conn);
    const started = performance.now();
    serverHandshake(socket, this.#opts, this.#handshaking.signal).then(
      (outcome) => {
        this.#handshakes--;
        if (outcome.kind !== 'shm') this.#fallbacks++;
        if (!wireOutcome(conn, socket, outcome, this.#opts.spin)) return;
        this.#conns.add(conn);
        conn.once('close', () => {
          this.#conns.delete(conn);
          this.#closedBytesIn += conn.bytesRead;
          this.#closedBytesOut += conn.bytesWritten;
        });
        this.emit('connection', conn);
      },
      (err: ShmnetError) => {
        this.#handshakes--;
        const code = err.code ?? codes.HANDSHAKE;
        this.#handshakeFailures.set(code, (this.#handshakeFailures.get(code) ?? 0) + 1);
        publishHandshake('server', conn, null, performance.now() - started, code);
        conn.destroy(); // publishes shmnet:close with a null code: the failure was reported above
        // Like http's 'clientError': a bad client never takes the server down.
        this.emit('handshakeError', err, socket);
      },
    );
  }
}

/** One listener per handshake in progress, thousands in a burst: no max-listeners warning. */
function handshakeAborter(): AbortController {
  const c = new AbortController();
  setMaxListeners(0, c.signal);
  return c;
}

/** As net.Server: callable with or without `new`. */
export type Server = ServerImpl;
export const Server = new Proxy(ServerImpl, {
  apply: (target, _this, args: [ServerOptions | ConnectionListener | undefined, ConnectionListener | undefined]) => new target(...args),
}) as typeof ServerImpl & ((options?: ServerOptions | ConnectionListener, listener?: ConnectionListener) => ServerImpl);

/** As net.createServer. */
export function createServer(options?: ServerOptions | ConnectionListener, listener?: ConnectionListener): Server {
  return new ServerImpl(options, listener);
}
