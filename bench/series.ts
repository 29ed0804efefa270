/**
 * What the bench can run, as data: the tables `--only` selects, and the
 * round-trip series beyond the byte-stream ping-pong (request/response,
 * gRPC, worker tasks), each with the table that selects it and, for a
 * peer library, the library it needs.
 */
import type { PeerLibrary } from './optional.js';
import type { TransportKey } from './transports.js';

/** Tables and peers a run can be limited to with --only. */
export const TABLE_KEYS = [
  'shmnet',
  'shmnet-onread',
  'shmnet-lanes',
  'tcp',
  'unix',
  'pipe',
  'memcpy',
  'concurrent',
  'latency',
  'idle',
  'rpc',
  'message',
  'worker',
  'to-worker',
  'tasks',
  'zeromq',
  'thread-stream',
  'grpc',
  'piscina',
] as const;
export type TableKey = (typeof TABLE_KEYS)[number];

export type SeriesKey = TransportKey | 'memcpy';

/** The one-way throughput series, in table order, with the --only key and the library each needs. */
export interface OneWaySeries {
  key: TableKey;
  series: SeriesKey;
  title: string;
  label: string;
  library?: PeerLibrary;
}

export const ONE_WAY_SERIES: OneWaySeries[] = [
  { key: 'shmnet', series: 'shm', title: 'shmnet Conn (peer in a separate process, one-way)', label: 'shmnet' },
  { key: 'shmnet-onread', series: 'shm-onread', title: 'shmnet Conn, receiver on `onread` into one reused 1 MiB buffer, touching every cache line', label: 'shmnet onread' },
  { key: 'shmnet-lanes', series: 'shm-lanes', title: 'shmnet Conn, zero-copy lanes: writer fills claimed views, receiver borrows in place, touching every cache line', label: 'shmnet claim+borrow' },
  { key: 'tcp', series: 'tcp', title: 'TCP Local (node:net, 127.0.0.1)', label: 'TCP' },
  { key: 'unix', series: 'unix', title: 'Unix socket (node:net)', label: 'Unix socket' },
  { key: 'pipe', series: 'pipe', title: 'Pipe (child process stdin)', label: 'Pipe' },
  { key: 'zeromq', series: 'zeromq', title: 'zeromq push/pull over ipc:// (zeromq.js, one message per chunk)', label: 'zeromq', library: 'zeromq' },
  { key: 'memcpy', series: 'memcpy', title: 'Memory Copy (Buffer.copy in one process, baseline)', label: 'memcpy' },
];

export type RoundTripTable = 'rpc' | 'grpc' | 'tasks';

export interface RoundTripSeries {
  key: string;
  table: RoundTripTable;
  /** The --only key that runs it. */
  select: TableKey;
  library?: PeerLibrary;
  label: string;
  /** Payload bytes each way. */
  size: number;
}

const KiB = 1024;
export const RPC_SIZE = 64;

export const ROUND_TRIP_SERIES: RoundTripSeries[] = [
  { key: 'mc-shm', table: 'rpc', select: 'rpc', label: 'MessageConn, shared memory', size: RPC_SIZE },
  { key: 'mc-tcp', table: 'rpc', select: 'rpc', label: "MessageConn, TCP fallback (`transport: 'tcp'`)", size: RPC_SIZE },
  { key: 'zmq-req', table: 'rpc', select: 'zeromq', library: 'zeromq', label: 'zeromq req/rep (ipc)', size: RPC_SIZE },
  { key: 'grpc-unix-64', table: 'grpc', select: 'grpc', library: 'grpc', label: 'grpc-js client, Unix socket', size: 64 },
  { key: 'h2-unix-64', table: 'grpc', select: 'grpc', library: 'grpc', label: 'node:http2 client, Unix socket', size: 64 },
  { key: 'h2-shm-64', table: 'grpc', select: 'grpc', library: 'grpc', label: 'node:http2 client, shmnet Conn', size: 64 },
  { key: 'grpc-unix-64k', table: 'grpc', select: 'grpc', library: 'grpc', label: 'grpc-js client, Unix socket', size: 64 * KiB },
  { key: 'h2-unix-64k', table: 'grpc', select: 'grpc', library: 'grpc', label: 'node:http2 client, Unix socket', size: 64 * KiB },
  { key: 'h2-shm-64k', table: 'grpc', select: 'grpc', library: 'grpc', label: 'node:http2 client, shmnet Conn', size: 64 * KiB },
  { key: 'task-channel', table: 'tasks', select: 'tasks', label: 'MessageConn over a worker channel', size: RPC_SIZE },
  { key: 'task-port', table: 'tasks', select: 'tasks', label: 'MessagePort postMessage', size: RPC_SIZE },
  { key: 'task-piscina', table: 'tasks', select: 'piscina', library: 'piscina', label: 'piscina `run()` (1 thread)', size: RPC_SIZE },
];
