/**
 * Worker channels: a `Conn` between two threads of one process over the
 * same rings as a shared-memory connection, without a socket.
 *
 * `createChannel()` builds one region in an anonymous SharedArrayBuffer
 * and returns two port objects: plain data (the buffer, a side number and
 * the options), so they go through `postMessage` or `workerData` as they
 * are, with no transfer list. `openChannel(port)` in the thread that
 * should own that end returns a `Conn`; each port opens once.
 */
import { codes, invalidArg, ShmnetError, ShmnetTypeError } from '../errors.js';
import { readHeader, regionSize } from '../ring/header.js';
import { initRegion } from '../ring/region.js';
import { Conn } from '../stream/conn.js';
import { checkOnread, type OnreadOptions } from '../stream/onread.js';
import { DEFAULT_RING_SIZE } from '../ring/layout.js';
import { DEFAULT_SPIN_US, MAX_SPIN_US } from '../stream/ring-pump.js';
import { createChannelEngine } from './channel-engine.js';
import {
  CHANNEL_KIND,
  CHANNEL_VERSION,
  CHANNEL_WORD_COUNT,
  CHANNEL_WORDS_OFFSET,
  KIND_INDEX,
  OPENED_CLAIMED,
  OPENED_INDEX,
} from './layout.js';

export interface ChannelOptions {
  /** Ring capacity in bytes per direction, a power of two (default 1 MiB). */
  ringSize?: number;
  /** Microseconds to poll an idle ring before parking on `Atomics.waitAsync`; 0 parks at once (default 100). */
  spin?: number;
}

export interface OpenChannelOptions {
  /** As in net.Socket: keep the writable side open after the peer ends. */
  allowHalfOpen?: boolean;
  /** As net.connect's: bytes are copied into `buffer` and handed to `callback`; no 'data' events. */
  onread?: OnreadOptions;
}

/**
 * One end of a channel. Plain data: post it to a worker (`postMessage`,
 * `workerData`) without a transfer list, then `openChannel()` it there.
 */
export interface ChannelPort {
  /** Port format version (CHANNEL_VERSION). */
  readonly shmnetChannel: number;
  /** 0 for `port1`, 1 for `port2`. */
  readonly side: 0 | 1;
  /** The region with both rings, shared by the two ends. */
  readonly buffer: SharedArrayBuffer;
  readonly ringSize: number;
  readonly spin: number;
}

/** Builds a channel; post `port2` (or both) to the threads that should own the ends. */
export function createChannel(options?: ChannelOptions): { port1: ChannelPort; port2: ChannelPort } {
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidArg('options must be an object');
  const ringSize = options?.ringSize ?? DEFAULT_RING_SIZE;
  const spin = options?.spin ?? DEFAULT_SPIN_US;
  if (typeof spin !== 'number' || !(spin >= 0 && spin <= MAX_SPIN_US)) {
    throw invalidArg(`spin must be a number of microseconds between 0 and ${MAX_SPIN_US}, got ${String(spin)}`);
  }
  // regionSize() checks ringSize (power of two in range) and throws a coded error.
  const buffer = new SharedArrayBuffer(regionSize(ringSize));
  initRegion(buffer, ringSize);
  // The channel words live in the header page, which initRegion zeroed.
  const words = new Int32Array(buffer, CHANNEL_WORDS_OFFSET, CHANNEL_WORD_COUNT);
  Atomics.store(words, KIND_INDEX, CHANNEL_KIND);
  const port = (side: 0 | 1): ChannelPort => ({ shmnetChannel: CHANNEL_VERSION, side, buffer, ringSize, spin });
  return { port1: port(0), port2: port(1) };
}

function checkPort(port: unknown): asserts port is ChannelPort {
  const p = port as Partial<ChannelPort> | null;
  if (typeof p !== 'object' || p === null || p.shmnetChannel === undefined) {
    throw invalidArg('openChannel() takes a port object made by createChannel()');
  }
  if (p.shmnetChannel !== CHANNEL_VERSION) {
    throw new ShmnetTypeError(`channel port version ${String(p.shmnetChannel)} is not supported (expected ${CHANNEL_VERSION})`, codes.UNSUPPORTED);
  }
  if (!(p.buffer instanceof SharedArrayBuffer)) throw invalidArg('channel port has no SharedArrayBuffer');
  if (p.side !== 0 && p.side !== 1) throw invalidArg(`channel port side must be 0 or 1, got ${String(p.side)}`);
  if (typeof p.spin !== 'number' || !(p.spin >= 0 && p.spin <= MAX_SPIN_US)) throw invalidArg(`channel port spin ${String(p.spin)} is invalid`);
}

/**
 * Opens one end of a channel in the calling thread and returns its
 * `Conn`: a Duplex with the net.Socket behaviour of every shmnet
 * connection. It emits 'connect' on the next tick; bytes written before
 * the other end opens wait in the ring. When the other end's thread
 * terminates without ending the stream, the Conn is destroyed with
 * `SHMNET_ERR_PEER_GONE` (see channel-engine.ts, "Liveness").
 */
export function openChannel(port: ChannelPort, options?: OpenChannelOptions): Conn {
  checkPort(port);
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidArg('options must be an object');
  const onread = checkOnread(options?.onread);
  const header = readHeader(port.buffer);
  if (header.capacity !== port.ringSize) {
    throw invalidArg(`channel port says ringSize ${String(port.ringSize)} but its region holds ${header.capacity}`);
  }
  const words = new Int32Array(port.buffer, CHANNEL_WORDS_OFFSET, CHANNEL_WORD_COUNT);
  if (Atomics.load(words, KIND_INDEX) !== CHANNEL_KIND) throw invalidArg('the port buffer is not a channel region');
  // Made before the port is claimed: an onread.buffer() that returns no buffer throws here.
  const conn = new Conn({ role: port.side === 0 ? 'client' : 'server', allowHalfOpen: options?.allowHalfOpen === true, ...(onread ? { onread } : null) });
  if (Atomics.compareExchange(words, OPENED_INDEX + port.side, 0, OPENED_CLAIMED) !== 0) {
    throw new ShmnetError(codes.EXISTS, `port${port.side + 1} of this channel is already open`);
  }
  conn._attach(createChannelEngine({ conn, buffer: port.buffer, capacity: header.capacity, side: port.side, spin: port.spin }));
  process.nextTick(() => {
    if (conn.destroyed) return;
    conn.emit('connect');
    conn.emit('ready');
  });
  return conn;
}
