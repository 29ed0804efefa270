/**
 * What the bench process and its peer say to each other.
 *
 * Two planes:
 *   - the data plane is the transport under test (a shmnet Conn, a TCP or
 *     Unix socket, the peer's stdin). Every stream starts with an 8-byte
 *     preamble, `[mode, 0, 0, 0, id (uint32 LE)]`, then carries only
 *     payload. Eight bytes, so the payload keeps the 8-byte alignment a
 *     fresh stream of power-of-two chunks has (shmnet copies misaligned
 *     data through a bounce buffer, which a 5-byte preamble would force);
 *   - the control plane is the peer's IPC channel (process.send), so asking
 *     "have you got N bytes yet?" never touches the transport being timed.
 *
 * One-way throughput: the bench writes for a while, then sends `await`
 * with the cumulative byte count it wrote on each stream; the peer answers
 * `reached` once its own counters got there. The interval from the first
 * write to `reached` is the sample.
 */
import type { GrpcAddresses } from './grpc.js';
import type { PeerLibrary } from './optional.js';
import type { ZmqAddresses } from './zeromq.js';

/** The peer counts what arrives and sends nothing back. */
export const MODE_SINK = 1;
/** The peer writes back everything that arrives (ping-pong). */
export const MODE_ECHO = 2;
export const PREAMBLE_SIZE = 8;
/** The receive buffer of the peer's onread server: as large as the largest default chunk. */
export const ONREAD_BUFFER = 1 << 20;
const PREAMBLE_ID_OFFSET = 4;

export function preamble(mode: number, id: number): Buffer {
  const b = Buffer.alloc(PREAMBLE_SIZE);
  b[0] = mode;
  b.writeUInt32LE(id, PREAMBLE_ID_OFFSET);
  return b;
}

export function parsePreamble(b: Buffer): { mode: number; id: number } {
  return { mode: b[0]!, id: b.readUInt32LE(PREAMBLE_ID_OFFSET) };
}

/** Where the peer listens. */
export interface PeerAddresses {
  /** MessageConn echo servers (rpc.ts), over shared memory and the TCP fallback. */
  messageShmPort: number;
  messageTcpPort: number;
  /** zeromq sockets (zeromq.ts); absent when zeromq did not load (see `skipped`). */
  zeromq?: ZmqAddresses;
  /** The gRPC server (grpc.ts); absent when @grpc/grpc-js did not load. */
  grpc?: GrpcAddresses;
  /** Peer libraries that did not load in the peer process, with the reason. */
  skipped: Partial<Record<PeerLibrary, string>>;
  /** shmnet server, default options. */
  shmPort: number;
  /** shmnet server with `spin: 0`. */
  shmPark: number;
  /** shmnet server whose Conns receive through `onread` into one reused buffer (sink mode only). */
  shmOnread: number;
  /** shmnet server whose Conns receive by borrowing ring bytes in place (sink mode only). */
  shmLanes: number;
  /** node:net TCP server on 127.0.0.1. */
  tcpPort: number;
  /** node:net server on a Unix socket. */
  unixPath: string;
}

export type ToPeer =
  | { t: 'await'; tag: number; waits: Array<[id: number, bytes: number]> }
  | { t: 'cpu'; tag: number }
  /** Message mode (message.ts): connect to the bench's server on `port` and send MessageConn messages until 'mstop'. */
  | { t: 'msend'; tag: number; port: number; transport: 'shm' | 'tcp'; records: boolean }
  | { t: 'mstop'; tag: number }
  | { t: 'exit' };

export type FromPeer =
  | { t: 'ready'; addresses: PeerAddresses; pid: number }
  | { t: 'reached'; tag: number; stats: Array<Record<string, unknown> | null>; user: number; system: number }
  | { t: 'cpu'; tag: number; user: number; system: number }
  /** Connected and sending (or `error`: could not). */
  | { t: 'msending'; tag: number; error?: string }
  /** Stopped and ended the stream after `sent` messages. */
  | { t: 'mstopped'; tag: number; sent: number }
  | { t: 'error'; message: string };
