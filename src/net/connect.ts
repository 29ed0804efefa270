/**
 * `connect()`: dials the control socket like net.connect, runs the client
 * half of the MapInfo exchange, and returns at once a `Conn` that emits
 * 'connect' and 'ready' when the exchange is done (writes made before are
 * queued, as on a connecting net.Socket).
 */
import { connect as netConnect, type NetConnectOpts, type Socket } from 'node:net';
import { invalidArg } from '../errors.js';
import { clientHandshake } from '../handshake/client.js';
import { Conn } from '../stream/conn.js';
import { checkOnread, type OnreadOptions } from '../stream/onread.js';
import { resolveOptions, splitConnectOptions, streamMarks, type TransportOptions } from './options.js';
import { wireOutcome } from './wire.js';
import { publishConnect, publishHandshake } from '../stream/diagnostics.js';

export type ConnectOptions = TransportOptions &
  (
    | { port: number; host?: string; localAddress?: string; localPort?: number; family?: number; path?: undefined }
    | { path: string; port?: undefined }
  ) & {
    timeout?: number;
    /** As net.connect's: bytes are copied into `buffer` and handed to `callback`; no 'data' events. */
    onread?: OnreadOptions;
  };

type Listener = () => void;

function normalize(args: unknown[]): [ConnectOptions, Listener | undefined] {
  const [a, b, c] = args;
  if (typeof a === 'object' && a !== null) {
    if (b !== undefined && typeof b !== 'function') throw invalidArg('connectListener must be a function');
    return [a as ConnectOptions, b as Listener | undefined];
  }
  if (typeof a === 'string' && !/^\d+$/.test(a)) {
    if (b !== undefined && typeof b !== 'function') throw invalidArg('connectListener must be a function');
    return [{ path: a }, b as Listener | undefined];
  }
  if (typeof a === 'number' || typeof a === 'string') {
    const port = Number(a);
    if (typeof b === 'function') return [{ port }, b as Listener];
    if (b !== undefined && typeof b !== 'string') throw invalidArg('host must be a string');
    if (c !== undefined && typeof c !== 'function') throw invalidArg('connectListener must be a function');
    return [{ port, host: b as string | undefined }, c as Listener | undefined];
  }
  throw invalidArg('connect() takes (options[, cb]), (path[, cb]) or (port[, host][, cb])');
}

/**
 * As net.connect / net.createConnection: `(options[, cb])`, `(path[, cb])`,
 * `(port[, host][, cb])`. Transport options (`ringSize`, `spin`,
 * `transport`, `handshakeTimeout`, `allowHalfOpen`) ride in `options`,
 * and so does node:net's `onread` (see ../stream/onread.ts).
 */
export function connect(...args: unknown[]): Conn {
  const [options, listener] = normalize(args);
  const split = splitConnectOptions(options as unknown as Record<string, unknown>);
  const netOpts = split.socket;
  const transportOpts: TransportOptions = split.transport;
  if (netOpts.path === undefined && netOpts.port === undefined) throw invalidArg('connect() needs a port or a path');
  const opts = resolveOptions(transportOpts);
  const onread = checkOnread(split.conn.onread);
  const conn = new Conn({ role: 'client', allowHalfOpen: opts.allowHalfOpen, ...streamMarks(split.conn), ...(onread ? { onread } : null) });
  if (listener) conn.once('connect', listener);
  if (split.timeout !== undefined) conn.setTimeout(split.timeout as number);

  const deadline = performance.now() + opts.handshakeTimeout;
  dial(conn, { ...netOpts, allowHalfOpen: true, noDelay: true } as unknown as NetConnectOpts, deadline, 0, (socket) => {
    publishConnect('client', conn);
    const started = performance.now();
    clientHandshake(socket, {
      transport: opts.transport,
      // Only a ring size the caller chose is a wish; otherwise the server decides.
      ringSize: transportOpts.ringSize ?? 0,
      handshakeTimeout: opts.handshakeTimeout,
      maxFrameSize: opts.maxFrameSize,
    }).then(
      (outcome) => {
        wireOutcome(conn, socket, outcome, opts.spin);
      },
      (err: Error & { code?: string }) => {
        publishHandshake('client', conn, null, performance.now() - started, err.code ?? 'ERR_UNKNOWN');
        conn.destroy(err);
      },
    );
  });
  return conn;
}

/** First back-off after EAGAIN, ms; it doubles up to MAX_RETRY_DELAY_MS. */
const FIRST_RETRY_DELAY_MS = 1;
const MAX_RETRY_DELAY_MS = 100;

/**
 * Connects the control socket. A Unix socket whose listen backlog is full
 * refuses at once with EAGAIN (a TCP SYN would be retried by the kernel):
 * try again with back-off until `deadline`, the same one the handshake
 * has, so a burst of clients does not lose connections.
 */
function dial(conn: Conn, netOpts: NetConnectOpts, deadline: number, attempt: number, connected: (socket: Socket) => void): void {
  const socket = netConnect(netOpts);
  conn._setSocket(socket);
  const onEarlyError = (err: NodeJS.ErrnoException) => {
    const isPath = (netOpts as { path?: string }).path !== undefined;
    const delay = Math.min(MAX_RETRY_DELAY_MS, FIRST_RETRY_DELAY_MS * 2 ** attempt);
    if (err.code === 'EAGAIN' && isPath && !conn.destroyed && performance.now() + delay < deadline) {
      socket.destroy();
      setTimeout(() => {
        if (!conn.destroyed) dial(conn, netOpts, deadline, attempt + 1, connected);
      }, delay);
      return;
    }
    conn.destroy(err);
  };
  socket.once('error', onEarlyError);
  socket.once('connect', () => {
    socket.off('error', onEarlyError);
    if (conn.destroyed) {
      socket.destroy();
      return;
    }
    connected(socket);
  });
}

export const createConnection = connect;
