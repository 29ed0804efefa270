/** Options shared by `createServer` and `connect`, with their checks and defaults. */
import { codes, invalidArg, outOfRange, ShmnetError } from '../errors.js';
import { DEFAULT_MAX_FRAME_SIZE } from '../handshake/frames.js';
import { TRANSPORT_CHOICES, type TransportChoice } from '../handshake/messages.js';
import { checkCapacity } from '../ring/header.js';
import { DEFAULT_RING_SIZE } from '../ring/layout.js';
import { DEFAULT_SPIN_US, MAX_SPIN_US } from '../stream/ring-pump.js';

export { DEFAULT_RING_SIZE, DEFAULT_SPIN_US };

export type { TransportChoice };

export interface TransportOptions {
  /**
   * Ring capacity in bytes per direction (a power of two). The server
   * decides: it honours a client's wish up to its own `maxRingSize`.
   */
  ringSize?: number;
  /** Microseconds to poll an idle ring before parking on the doorbell; 0 parks at once. */
  spin?: number;
  /** 'auto' falls back to the socket, 'shm' fails instead, 'tcp' never maps. */
  transport?: TransportChoice;
  /** Milliseconds the MapInfo exchange may take. */
  handshakeTimeout?: number;
  /** As in net.Socket: keep the writable side open after the peer ends. */
  allowHalfOpen?: boolean;
  /** Largest frame accepted during the handshake. */
  maxFrameSize?: number;
}

export interface ServerTransportOptions extends TransportOptions {
  /** Largest ring a client may ask for. */
  maxRingSize?: number;
}

export const DEFAULT_MAX_RING_SIZE = 64 << 20;
export const DEFAULT_HANDSHAKE_TIMEOUT = 5000;

/**
 * The keys of TransportOptions, as data: `connect()` splits its options
 * with it. The type makes the compiler reject a key missing or extra.
 */
export const TRANSPORT_OPTION_KEYS: readonly (keyof TransportOptions)[] = Object.keys({
  ringSize: true,
  spin: true,
  transport: true,
  handshakeTimeout: true,
  allowHalfOpen: true,
  maxFrameSize: true,
} satisfies Record<keyof TransportOptions, true>) as (keyof TransportOptions)[];

export interface ResolvedOptions {
  ringSize: number;
  maxRingSize: number;
  spin: number;
  transport: TransportChoice;
  handshakeTimeout: number;
  allowHalfOpen: boolean;
  maxFrameSize: number;
}

function checkRingSize(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidArg(`${name} must be an integer, got ${String(v)}`);
  checkCapacity(v, name);
  return v;
}

function checkNumber(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw invalidArg(`${name} must be a number, got ${String(v)}`);
  if (v < min || v > max) throw outOfRange(`${name} must be between ${min} and ${max}, got ${v}`);
  return v;
}

export function resolveOptions(o: ServerTransportOptions | undefined): ResolvedOptions {
  if (o !== undefined && (typeof o !== 'object' || o === null)) throw invalidArg('options must be an object');
  const opts = o ?? {};
  const maxRingSize = opts.maxRingSize === undefined ? DEFAULT_MAX_RING_SIZE : checkRingSize('maxRingSize', opts.maxRingSize);
  const ringSize = opts.ringSize === undefined ? Math.min(DEFAULT_RING_SIZE, maxRingSize) : checkRingSize('ringSize', opts.ringSize);
  if (ringSize > maxRingSize) throw outOfRange(`ringSize ${ringSize} exceeds maxRingSize ${maxRingSize}`);
  const transport = opts.transport ?? 'auto';
  if (!(TRANSPORT_CHOICES as readonly unknown[]).includes(transport)) {
    throw invalidArg(`transport must be one of ${TRANSPORT_CHOICES.map((c) => `'${c}'`).join(', ')}, got ${String(transport)}`);
  }
  return {
    ringSize,
    maxRingSize,
    spin: opts.spin === undefined ? DEFAULT_SPIN_US : checkNumber('spin', opts.spin, 0, MAX_SPIN_US),
    transport,
    handshakeTimeout:
      opts.handshakeTimeout === undefined
        ? DEFAULT_HANDSHAKE_TIMEOUT
        : checkNumber('handshakeTimeout', opts.handshakeTimeout, 1, 2 ** 31 - 1),
    allowHalfOpen: opts.allowHalfOpen === true,
    maxFrameSize:
      opts.maxFrameSize === undefined ? DEFAULT_MAX_FRAME_SIZE : checkNumber('maxFrameSize', opts.maxFrameSize, 256, 1 << 20),
  };
}

// ---- which option goes where ---------------------------------------------------
//
// Every option of net.connect / net.createServer is either honoured (by the
// control socket, the Conn, or the transport) or refused with
// SHMNET_ERR_UNSUPPORTED; nothing else reaches the control socket.

/** Options of net.connect that shape how the control socket is dialled: passed to it. */
export const SOCKET_CONNECT_KEYS = [
  'port', 'host', 'path', 'localAddress', 'localPort', 'family', 'hints', 'lookup',
  'noDelay', 'keepAlive', 'keepAliveInitialDelay', 'autoSelectFamily', 'autoSelectFamilyAttemptTimeout',
] as const;
/** Stream options the Conn itself honours, on either side (besides TRANSPORT_OPTION_KEYS). */
export const CONN_KEYS = ['highWaterMark', 'readableHighWaterMark', 'writableHighWaterMark', 'onread'] as const;
/** Options of net.connect that shmnet does not honour (README, "How it differs from node:net"). */
export const REFUSED_CONNECT_KEYS = ['fd', 'readable', 'writable', 'signal'] as const;
/** Options of net.createServer passed to the listening socket (they apply to each control socket). */
export const SOCKET_SERVER_KEYS = ['noDelay', 'keepAlive', 'keepAliveInitialDelay', 'blockList'] as const;

function pick(o: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** Throws SHMNET_ERR_UNSUPPORTED for the first refused option that is set. */
export function refuseOptions(o: Record<string, unknown>, refused: readonly string[]): void {
  for (const k of refused) {
    if (o[k] !== undefined) throw new ShmnetError(codes.UNSUPPORTED, `the ${k} option of net is not supported by shmnet`);
  }
}

/** Splits connect() options into what the control socket, the Conn and the transport take. */
export function splitConnectOptions(o: Record<string, unknown>): {
  socket: Record<string, unknown>;
  conn: Record<string, unknown>;
  transport: TransportOptions;
  timeout: unknown;
} {
  refuseOptions(o, REFUSED_CONNECT_KEYS);
  return { socket: pick(o, SOCKET_CONNECT_KEYS), conn: pick(o, CONN_KEYS), transport: pick(o, TRANSPORT_OPTION_KEYS), timeout: o.timeout };
}

/** The Duplex high-water marks from `highWaterMark` / `readableHighWaterMark` / `writableHighWaterMark`. */
export function streamMarks(o: Record<string, unknown>): { readableHighWaterMark?: number; writableHighWaterMark?: number } {
  const hwm = o.highWaterMark as number | undefined;
  const r = (o.readableHighWaterMark as number | undefined) ?? hwm;
  const w = (o.writableHighWaterMark as number | undefined) ?? hwm;
  return { ...(r !== undefined ? { readableHighWaterMark: r } : null), ...(w !== undefined ? { writableHighWaterMark: w } : null) };
}
