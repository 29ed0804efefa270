/**
 * The goals the bench report checks, as data: what is measured, how it is
 * compared, and the bound. report.ts evaluates each metric kind (one
 * function per kind); a new goal is a new row here, not new code.
 */
import type { MessageSeries } from './message.js';
import type { SeriesKey } from './series.js';
import type { TransportKey } from './transports.js';
import type { WorkerKind } from './worker.js';

export type TargetMetric =
  /** Median throughput of `a` over `b` at `size`. */
  | { kind: 'throughput-ratio'; a: SeriesKey; b: SeriesKey; size: number }
  /** The lowest such ratio over the run's sizes of at least `minSize`. */
  | { kind: 'throughput-ratio-min'; a: SeriesKey; b: SeriesKey; minSize: number }
  /** Median round-trip time of a ping-pong series, µs. */
  | { kind: 'round-trip'; series: TransportKey }
  /** Median round-trip time of `a` over that of `b`. */
  | { kind: 'round-trip-ratio'; a: TransportKey; b: TransportKey }
  /** Aggregate throughput of the most concurrent connections over one connection. */
  | { kind: 'concurrency' }
  /** CPU of an idle Conn, the higher of the two sides, % of a core. */
  | { kind: 'idle-cpu' }
  /** MessageConn one-way messages/s of a message series (over shared memory). */
  | { kind: 'messages-per-sec'; series: MessageSeries }
  /** A worker-channel kind's throughput over MessagePort clone at `size`. */
  | { kind: 'worker-vs-clone'; worker: WorkerKind; size: number };

export interface Target {
  /** What is measured, in the product's words. */
  measure: string;
  metric: TargetMetric;
  /** The value must be at least (`>=`) or at most (`<=`) `bound`. */
  op: '>=' | '<=';
  bound: number;
  /** How the value and the bound are shown. */
  unit: '×' | '%' | 'µs' | 'messages/s' | '% of a core';
}

const KiB = 1024;
const MiB = 1024 * KiB;

export const TARGETS: Target[] = [
  { measure: 'Conn throughput vs TCP loopback, 1 KiB', metric: { kind: 'throughput-ratio', a: 'shm', b: 'tcp', size: KiB }, op: '>=', bound: 20, unit: '×' },
  { measure: 'Conn throughput vs TCP loopback, 4 KiB', metric: { kind: 'throughput-ratio', a: 'shm', b: 'tcp', size: 4 * KiB }, op: '>=', bound: 8, unit: '×' },
  { measure: 'Conn throughput vs TCP loopback, 64 KiB', metric: { kind: 'throughput-ratio', a: 'shm', b: 'tcp', size: 64 * KiB }, op: '>=', bound: 3, unit: '×' },
  { measure: 'Conn throughput vs TCP loopback, 1 MiB', metric: { kind: 'throughput-ratio', a: 'shm', b: 'tcp', size: MiB }, op: '>=', bound: 2, unit: '×' },
  { measure: 'Conn throughput vs Unix socket, every size', metric: { kind: 'throughput-ratio-min', a: 'shm', b: 'unix', minSize: 0 }, op: '>=', bound: 1.5, unit: '×' },
  { measure: 'Conn throughput vs memcpy, ≥ 64 KiB', metric: { kind: 'throughput-ratio-min', a: 'shm', b: 'memcpy', minSize: 64 * KiB }, op: '>=', bound: 0.35, unit: '%' },
  { measure: '64 B round trip, default spin', metric: { kind: 'round-trip', series: 'shm' }, op: '<=', bound: 5, unit: 'µs' },
  { measure: '64 B round trip, `spin: 0`, vs a Unix-socket round trip', metric: { kind: 'round-trip-ratio', a: 'shm-park', b: 'unix' }, op: '<=', bound: 1.2, unit: '×' },
  { measure: 'Concurrent connections, aggregate vs one connection', metric: { kind: 'concurrency' }, op: '>=', bound: 0.8, unit: '×' },
  { measure: 'Idle Conn after the spin budget, each side', metric: { kind: 'idle-cpu' }, op: '<=', bound: 1, unit: '% of a core' },
  { measure: 'MessageConn, 64-byte objects one-way', metric: { kind: 'messages-per-sec', series: 'shm' }, op: '>=', bound: 3_000_000, unit: 'messages/s' },
  { measure: 'MessageConn, 64-byte objects one-way, `records: true`', metric: { kind: 'messages-per-sec', series: 'shm-records' }, op: '>=', bound: 3_000_000, unit: 'messages/s' },
  { measure: 'Worker channel vs MessagePort clone, 1 KiB', metric: { kind: 'worker-vs-clone', worker: 'channel', size: KiB }, op: '>=', bound: 10, unit: '×' },
  { measure: 'Worker channel vs MessagePort clone, 64 KiB', metric: { kind: 'worker-vs-clone', worker: 'channel', size: 64 * KiB }, op: '>=', bound: 2, unit: '×' },
  { measure: 'Worker channel with onread vs MessagePort clone, 1 KiB', metric: { kind: 'worker-vs-clone', worker: 'onread', size: KiB }, op: '>=', bound: 10, unit: '×' },
  { measure: 'Worker channel with onread vs MessagePort clone, 64 KiB', metric: { kind: 'worker-vs-clone', worker: 'onread', size: 64 * KiB }, op: '>=', bound: 2, unit: '×' },
];
