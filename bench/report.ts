/**
 * Turns the samples into the tables. Ratios lead: the summary against the
 * other local transports, the summary against the peer libraries and the
 * targets (targets.ts); then every table with its absolute figures, each
 * labelled with the machine it was measured on: the seed's one-way format
 * (Size | Operations/sec | Throughput (MB/s) | Latency (ns/op)) plus a
 * spread column, concurrency, round trips (byte ping-pong,
 * request/response, gRPC, worker tasks), the idle Conn, message mode and
 * the worker channel in both directions. Everything here is pure: samples
 * in, rows and markdown out.
 */
import type { IdleSample } from './idle.js';
import type { LatencySample } from './latency.js';
import { describeMachine, measuredOn, type MachineInfo } from './machine.js';
import type { MessageSample, MessageSeries } from './message.js';
import type { PeerLibrary } from './optional.js';
import { ONE_WAY_SERIES, ROUND_TRIP_SERIES, type RoundTripTable, type SeriesKey, type TableKey } from './series.js';
import { summarize } from './stats.js';
import { TARGETS, type Target, type TargetMetric } from './targets.js';
import type { OneWaySample } from './throughput.js';
import type { ToWorkerKind, ToWorkerSample } from './to-worker.js';
import type { TransportKey } from './transports.js';
import type { WorkerKind, WorkerSample } from './worker.js';

export { ONE_WAY_SERIES, TABLE_KEYS, type SeriesKey, type TableKey } from './series.js';

/** A ratio whose two cells have a min–max spread wider than this is flagged. */
export const WIDE_SPREAD = 2;

/** How clean a sample was (foreign.ts). */
export interface SampleMeta {
  /** CPU used meanwhile by other processes, % of one core (null: unknown). */
  foreignCpu: number | null;
  /** 1, or more when the sample was repeated because of foreign load. */
  attempts: number;
}

export interface OneWayRecord extends OneWaySample, SampleMeta {
  series: SeriesKey;
  size: number;
  rep: number;
  /** Why this baseline sample is left out of its row (cli.ts: slower than a transport it bounds). */
  rejected?: string;
}

export interface ConcurrentRecord extends OneWaySample, SampleMeta {
  conns: number;
  size: number;
  rep: number;
}

export interface LatencyRecord extends LatencySample, SampleMeta {
  series: TransportKey;
  size: number;
  rep: number;
}

/** A request/response, gRPC or worker-task round-trip sample (series.ts). */
export interface RoundTripRecord extends LatencySample, SampleMeta {
  series: string;
  size: number;
  rep: number;
}

export interface MessageRecord extends MessageSample, SampleMeta {
  series: MessageSeries;
  rep: number;
}

export interface WorkerRecord extends WorkerSample, SampleMeta {
  kind: WorkerKind;
  size: number;
  rep: number;
}

export interface ToWorkerRecord extends ToWorkerSample, SampleMeta {
  kind: ToWorkerKind;
  size: number;
  rep: number;
}

export interface Skipped {
  /** The --only key whose rows were skipped. */
  what: TableKey;
  library: PeerLibrary;
  reason: string;
}

export interface Results {
  format: 'shmnet-bench/2';
  machine: MachineInfo;
  command: string;
  config: {
    sizes: number[];
    latencySize: number;
    concurrency: number[];
    concurrentSize: number;
    reps: number;
    durationMs: number;
    warmupMs: number;
    latencyMs: number;
    /** A sample is repeated when other processes used more than this (% of a core) meanwhile. */
    maxForeignCpu: number;
    retries: number;
    tables: TableKey[];
    quick: boolean;
    /** --pin: bench on CPU 0, peer on CPU 1. */
    pinned: boolean;
    /** Message table: bytes of one message as MessagePack, and of its frame (plus the length prefix). */
    messageBytes: number;
    messageFrameBytes: number;
    /** Worker tables: chunk sizes, and the warm-up / window of each sample, ms. */
    workerSizes: number[];
    workerWarmupMs: number;
    workerDurationMs: number;
    toWorkerSizes: number[];
    /** Memory copy samples: warm-up and number of timed slices (the fastest counts). */
    memcpyWarmupMs: number;
    memcpySlices: number;
  };
  /** Rows not measured because a peer library did not load. */
  skipped: Skipped[];
  samples: {
    oneWay: OneWayRecord[];
    concurrent: ConcurrentRecord[];
    latency: LatencyRecord[];
    roundTrip: RoundTripRecord[];
    idle: Array<IdleSample & SampleMeta>;
    message: MessageRecord[];
    worker: WorkerRecord[];
    toWorker: ToWorkerRecord[];
  };
}

export const LATENCY_SERIES: Array<{ series: TransportKey; label: string }> = [
  { series: 'shm', label: 'shmnet (default spin)' },
  { series: 'shm-park', label: 'shmnet (`spin: 0`)' },
  { series: 'tcp', label: 'TCP' },
  { series: 'unix', label: 'Unix socket' },
];

// ---- rows -------------------------------------------------------------------

export interface ThroughputRow {
  size: number;
  reps: number;
  opsPerSec: number;
  mbps: number;
  nsPerOp: number;
  mbpsMin: number;
  mbpsMax: number;
  senderCpu: number;
  receiverCpu: number | null;
  /** CPU seconds per 10^9 bytes moved, both processes together (median of the samples); null without the receiver's figure. */
  cpuPerGB: number | null;
}

/** One sample's CPU seconds per 10^9 bytes, sender and receiver together (memcpy: its one process). */
function cpuPerGB(s: OneWaySample): number {
  return (((s.senderCpu + (s.receiverCpu ?? 0)) / 100) * s.seconds) / (s.bytes / 1e9);
}

function throughputRow(size: number, samples: OneWaySample[]): ThroughputRow {
  const m = summarize(samples.map((s) => s.mbps));
  const ops = (m.median * 1e6) / size;
  const rc = samples.map((s) => s.receiverCpu).filter((x): x is number => x !== undefined);
  return {
    size,
    reps: m.n,
    opsPerSec: ops,
    mbps: m.median,
    nsPerOp: 1e9 / ops,
    mbpsMin: m.min,
    mbpsMax: m.max,
    senderCpu: summarize(samples.map((s) => s.senderCpu)).median,
    receiverCpu: rc.length > 0 ? summarize(rc).median : null,
    cpuPerGB: samples.every((x) => x.bytes > 0) ? summarize(samples.map(cpuPerGB)).median : null,
  };
}

/** The kept samples of one series and size (rejected baseline samples left out). */
export function keptOneWay(r: Results, series: SeriesKey, size: number): OneWayRecord[] {
  return r.samples.oneWay.filter((x) => x.series === series && x.size === size && x.rejected === undefined);
}

export function oneWayRows(r: Results, series: SeriesKey): ThroughputRow[] {
  const rows: ThroughputRow[] = [];
  for (const size of r.config.sizes) {
    const s = keptOneWay(r, series, size);
    if (s.length > 0) rows.push(throughputRow(size, s));
  }
  return rows;
}

export interface ConcurrentRow extends ThroughputRow {
  conns: number;
}

export function concurrentRows(r: Results): ConcurrentRow[] {
  const rows: ConcurrentRow[] = [];
  for (const conns of r.config.concurrency) {
    const s = r.samples.concurrent.filter((x) => x.conns === conns);
    if (s.length > 0) rows.push({ conns, ...throughputRow(r.config.concurrentSize, s) });
  }
  return rows;
}

export interface LatencyRow {
  series: string;
  label: string;
  size: number;
  reps: number;
  roundTrips: number;
  /** Median (and min–max) over repetitions of each repetition's round trips per second. */
  perSec: number;
  perSecMin: number;
  perSecMax: number;
  /** µs: median over repetitions of each repetition's median / p99. */
  median: number;
  p99: number;
  medianMin: number;
  medianMax: number;
  p99Min: number;
  p99Max: number;
}

function latencyRow(series: string, label: string, size: number, s: LatencySample[]): LatencyRow {
  const med = summarize(s.map((x) => x.median));
  const p99 = summarize(s.map((x) => x.p99));
  const ps = summarize(s.map((x) => x.perSec));
  return {
    series,
    label,
    size,
    reps: s.length,
    roundTrips: s.reduce((a, x) => a + x.roundTrips, 0),
    perSec: ps.median,
    perSecMin: ps.min,
    perSecMax: ps.max,
    median: med.median,
    p99: p99.median,
    medianMin: med.min,
    medianMax: med.max,
    p99Min: p99.min,
    p99Max: p99.max,
  };
}

/** The byte ping-pong table (Conn, sockets). */
export function latencyRows(r: Results): LatencyRow[] {
  const rows: LatencyRow[] = [];
  for (const { series, label } of LATENCY_SERIES) {
    const s = r.samples.latency.filter((x) => x.series === series);
    if (s.length > 0) rows.push(latencyRow(series, label, r.config.latencySize, s));
  }
  return rows;
}

/** A request/response, gRPC or task table (series.ts). */
export function roundTripRows(r: Results, table: RoundTripTable): LatencyRow[] {
  const rows: LatencyRow[] = [];
  for (const x of ROUND_TRIP_SERIES.filter((x) => x.table === table)) {
    const s = (r.samples.roundTrip ?? []).filter((y) => y.series === x.key);
    if (s.length > 0) rows.push(latencyRow(x.key, x.label, x.size, s));
  }
  return rows;
}

/** The rows of the message table; `vs` is the row each is compared with (the TCP fallback with the same encoding). */
export const MESSAGE_ROWS: Array<{ series: MessageSeries; label: string; vs: MessageSeries }> = [
  { series: 'shm', label: 'shared memory', vs: 'tcp' },
  { series: 'tcp', label: "TCP fallback (`transport: 'tcp'`)", vs: 'tcp' },
  { series: 'shm-records', label: 'shared memory, `records: true`', vs: 'tcp-records' },
  { series: 'tcp-records', label: 'TCP fallback, `records: true`', vs: 'tcp-records' },
];

export interface MessageRow {
  series: MessageSeries;
  label: string;
  /** Bytes of one frame on the wire (MessagePack + 4-byte length). */
  frameBytes: number;
  reps: number;
  /** Median over repetitions. */
  messagesPerSec: number;
  /** Frame bytes per second, 10^6 (from the median rate). */
  mbps: number;
  nsPerMessage: number;
  messagesPerSecMin: number;
  messagesPerSecMax: number;
  /** Median rate over the median rate of the TCP fallback with the same encoding, same run. */
  vsTcp: number | null;
  receiverCpu: number;
}

export function messageRows(r: Results): MessageRow[] {
  const med = new Map<MessageSeries, number>();
  const rows: MessageRow[] = [];
  for (const { series, label } of MESSAGE_ROWS) {
    const s = (r.samples.message ?? []).filter((x) => x.series === series);
    if (s.length === 0) continue;
    const m = summarize(s.map((x) => x.messagesPerSec));
    med.set(series, m.median);
    // Reports written before frames had their own size were map frames.
    const frameBytes = s[0]!.frameBytes ?? r.config.messageFrameBytes;
    rows.push({
      series,
      label,
      frameBytes,
      reps: m.n,
      messagesPerSec: m.median,
      mbps: (m.median * frameBytes) / 1e6,
      nsPerMessage: 1e9 / m.median,
      messagesPerSecMin: m.min,
      messagesPerSecMax: m.max,
      vsTcp: null,
      receiverCpu: summarize(s.map((x) => x.receiverCpu)).median,
    });
  }
  for (const row of rows) {
    const vs = med.get(MESSAGE_ROWS.find((x) => x.series === row.series)!.vs);
    row.vsTcp = vs === undefined ? null : row.messagesPerSec / vs;
  }
  return rows;
}

export interface WorkerCell<K extends string = WorkerKind> {
  kind: K;
  reps: number;
  /** MB/s, median over repetitions. */
  mbps: number;
  mbpsMin: number;
  mbpsMax: number;
  opsPerSec: number;
  /** Median over the reference column's median at the same size, same run. */
  vsRef: number | null;
}

export interface WorkerRow<K extends string = WorkerKind> {
  size: number;
  cells: Array<WorkerCell<K>>;
}

export const WORKER_COLUMNS: Array<{ kind: WorkerKind; label: string }> = [
  { kind: 'channel', label: 'channel, defaults' },
  { kind: 'tuned', label: 'channel, 4 MiB ring + spin 1000' },
  { kind: 'onread', label: 'channel, onread' },
  { kind: 'lanes', label: 'channel, claim+borrow' },
  { kind: 'clone', label: 'MessagePort clone' },
  { kind: 'transfer', label: 'MessagePort transfer' },
];

export const TO_WORKER_COLUMNS: Array<{ kind: ToWorkerKind; label: string }> = [
  { kind: 'channel', label: 'worker channel, defaults' },
  { kind: 'thread-stream', label: 'thread-stream, defaults' },
];

/** Cells per size and kind; ratios to the `ref` kind. */
function cellRows<K extends string>(
  sizes: number[],
  kinds: Array<{ kind: K }>,
  samples: Array<{ kind: K; size: number; mbps: number }>,
  ref: K,
): Array<WorkerRow<K>> {
  const rows: Array<WorkerRow<K>> = [];
  for (const size of sizes) {
    const cells: Array<WorkerCell<K>> = [];
    for (const { kind } of kinds) {
      const s = samples.filter((x) => x.kind === kind && x.size === size);
      if (s.length === 0) continue;
      const m = summarize(s.map((x) => x.mbps));
      cells.push({ kind, reps: m.n, mbps: m.median, mbpsMin: m.min, mbpsMax: m.max, opsPerSec: (m.median * 1e6) / size, vsRef: null });
    }
    const base = cells.find((c) => c.kind === ref);
    for (const c of cells) c.vsRef = base ? c.mbps / base.mbps : null;
    if (cells.length > 0) rows.push({ size, cells });
  }
  return rows;
}

/** Worker → main thread; ratios to MessagePort clone. */
export function workerRows(r: Results): WorkerRow[] {
  return cellRows(r.config.workerSizes ?? [], WORKER_COLUMNS, r.samples.worker ?? [], 'clone');
}

/** Main thread → worker; ratios to thread-stream. */
export function toWorkerRows(r: Results): Array<WorkerRow<ToWorkerKind>> {
  return cellRows(r.config.toWorkerSizes ?? [], TO_WORKER_COLUMNS, r.samples.toWorker ?? [], 'thread-stream');
}

// ---- ratios -----------------------------------------------------------------

/** A ratio of two medians, flagged when either cell's min–max spread is wider than WIDE_SPREAD. */
export interface Ratio {
  value: number;
  wide: boolean;
}

interface Cell {
  median: number;
  min: number;
  max: number;
}

function spreadOf(c: Cell): number {
  return c.min > 0 ? c.max / c.min : Infinity;
}

function ratioOf(a: Cell | undefined, b: Cell | undefined): Ratio | null {
  if (a === undefined || b === undefined) return null;
  return { value: a.median / b.median, wide: spreadOf(a) > WIDE_SPREAD || spreadOf(b) > WIDE_SPREAD };
}

const mbpsCell = (x: ThroughputRow | WorkerCell<string>): Cell => ({ median: x.mbps, min: x.mbpsMin, max: x.mbpsMax });
const latencyCell = (x: LatencyRow): Cell => ({ median: x.median, min: x.medianMin, max: x.medianMax });
/** Calls (round trips) completed per second. */
const callsCell = (x: LatencyRow): Cell => ({ median: x.perSec, min: x.perSecMin, max: x.perSecMax });
/** Time ratios inverted, so that above 1 means the first is faster. */
const speedCell = (x: LatencyRow): Cell => ({ median: 1 / x.median, min: 1 / x.medianMax, max: 1 / x.medianMin });

export interface SummaryRow {
  size: number;
  shmMbps: number | null;
  shmVsTcp: Ratio | null;
  unixVsTcp: Ratio | null;
  pipeVsTcp: Ratio | null;
  shmVsUnix: Ratio | null;
  shmVsPipe: Ratio | null;
  shmVsZeromq: Ratio | null;
  /** shmnet throughput as a fraction of memcpy (0..1). */
  shmVsMemcpy: Ratio | null;
  /** shmnet's CPU seconds per GB (both sides) over TCP's: below 1, shmnet costs less. */
  shmCpuVsTcp: number | null;
  /** The same for the `onread` and the claim+borrow paths. */
  onreadVsTcp: Ratio | null;
  onreadVsMemcpy: Ratio | null;
  onreadCpuVsTcp: number | null;
  lanesVsTcp: Ratio | null;
  lanesVsMemcpy: Ratio | null;
  lanesCpuVsTcp: number | null;
}

export function summaryRows(r: Results): SummaryRow[] {
  const at = (series: SeriesKey): Map<number, Cell> => new Map(oneWayRows(r, series).map((x) => [x.size, mbpsCell(x)]));
  const shm = at('shm');
  const tcp = at('tcp');
  const unix = at('unix');
  const pipe = at('pipe');
  const zmq = at('zeromq');
  const mem = at('memcpy');
  const cpu = (series: SeriesKey): Map<number, number | null> => new Map(oneWayRows(r, series).map((x) => [x.size, x.cpuPerGB]));
  const tcpCpu = cpu('tcp');
  const cpuRatio = (series: SeriesKey): ((size: number) => number | null) => {
    const of = cpu(series);
    return (size) => {
      const a = of.get(size);
      const b = tcpCpu.get(size);
      return a == null || b == null || b === 0 ? null : a / b;
    };
  };
  const shmCpu = cpuRatio('shm');
  const onread = at('shm-onread');
  const onreadCpu = cpuRatio('shm-onread');
  const lanes = at('shm-lanes');
  const lanesCpu = cpuRatio('shm-lanes');
  return r.config.sizes.map((size) => ({
    size,
    shmMbps: shm.get(size)?.median ?? null,
    shmVsTcp: ratioOf(shm.get(size), tcp.get(size)),
    unixVsTcp: ratioOf(unix.get(size), tcp.get(size)),
    pipeVsTcp: ratioOf(pipe.get(size), tcp.get(size)),
    shmVsUnix: ratioOf(shm.get(size), unix.get(size)),
    shmVsPipe: ratioOf(shm.get(size), pipe.get(size)),
    shmVsZeromq: ratioOf(shm.get(size), zmq.get(size)),
    shmVsMemcpy: ratioOf(shm.get(size), mem.get(size)),
    shmCpuVsTcp: shmCpu(size),
    onreadVsTcp: ratioOf(onread.get(size), tcp.get(size)),
    onreadVsMemcpy: ratioOf(onread.get(size), mem.get(size)),
    onreadCpuVsTcp: onreadCpu(size),
    lanesVsTcp: ratioOf(lanes.get(size), tcp.get(size)),
    lanesVsMemcpy: ratioOf(lanes.get(size), mem.get(size)),
    lanesCpuVsTcp: lanesCpu(size),
  }));
}

export interface PeerRow {
  peer: string;
  measure: string;
  shmnet: string;
  other: string;
  /** Above 1: shmnet is faster (throughput, calls/s, or the inverse of a round-trip time). */
  ratio: Ratio;
}

/** shmnet against each peer library, wherever both sides of a comparison were measured. */
export function peerRows(r: Results): PeerRow[] {
  const rows: PeerRow[] = [];
  const mb = (x: Cell) => `${fmtInt(x.median)} MB/s`;
  const us = (x: LatencyRow) => `${fmtFixed(x.median, 1)} µs (p99 ${fmtFixed(x.p99, 1)})`;
  const calls = (x: LatencyRow) => `${fmtInt(x.perSec)} calls/s, p99 ${fmtFixed(x.p99, 1)} µs`;
  const add = (peer: string, measure: string, a: Cell | undefined, b: Cell | undefined, fa: string, fb: string) => {
    const ratio = ratioOf(a, b);
    if (ratio !== null) rows.push({ peer, measure, shmnet: fa, other: fb, ratio });
  };
  const shm = new Map(oneWayRows(r, 'shm').map((x) => [x.size, x]));
  for (const z of oneWayRows(r, 'zeromq')) {
    const s = shm.get(z.size);
    if (s) add('zeromq', `one-way ${sizeLabel(z.size)}: Conn vs push/pull`, mbpsCell(s), mbpsCell(z), mb(mbpsCell(s)), mb(mbpsCell(z)));
  }
  const rt = new Map([...roundTripRows(r, 'rpc'), ...roundTripRows(r, 'grpc'), ...roundTripRows(r, 'tasks')].map((x) => [x.series, x]));
  const ping = new Map(latencyRows(r).map((x) => [x.series, x]));
  const zreq = rt.get('zmq-req');
  const pair = (peer: string, measure: string, a: LatencyRow | undefined, b: LatencyRow | undefined, f = us, cell = speedCell) => {
    if (a && b) add(peer, measure, cell(a), cell(b), f(a), f(b));
  };
  pair('zeromq', `${r.config.latencySize} B round trip: Conn ping-pong vs req/rep`, ping.get('shm'), zreq);
  pair('zeromq', `64 B request/response: MessageConn vs req/rep`, rt.get('mc-shm'), zreq);
  for (const size of ['64', '64k']) {
    const label = size === '64' ? '64 B' : '64 KiB';
    pair('gRPC', `unary ${label}, calls/s: over shmnet vs grpc-js over a Unix socket`, rt.get(`h2-shm-${size}`), rt.get(`grpc-unix-${size}`), calls, callsCell);
    pair('gRPC', `unary ${label}, calls/s: over shmnet vs the same http2 client over a Unix socket`, rt.get(`h2-shm-${size}`), rt.get(`h2-unix-${size}`), calls, callsCell);
  }
  for (const row of toWorkerRows(r)) {
    const ch = row.cells.find((c) => c.kind === 'channel');
    const ts = row.cells.find((c) => c.kind === 'thread-stream');
    if (ch && ts) add('thread-stream', `main thread → worker ${sizeLabel(row.size)}: worker channel vs thread-stream`, mbpsCell(ch), mbpsCell(ts), mb(mbpsCell(ch)), mb(mbpsCell(ts)));
  }
  pair('piscina', '64-byte task round trip: MessageConn over a worker channel vs piscina', rt.get('task-channel'), rt.get('task-piscina'));
  return rows;
}

// ---- targets ----------------------------------------------------------------

export interface TargetRow {
  measure: string;
  target: string;
  /** Human-readable measured value; 'not measured' when the run lacks the data. */
  measured: string;
  met: boolean | null;
  value: number | null;
}

interface Evaluated {
  value: number;
  detail?: string;
}

function evaluate(r: Results, m: TargetMetric): Evaluated | null {
  switch (m.kind) {
    case 'throughput-ratio': {
      const row = summaryPair(r, m.a, m.b).find((x) => x.size === m.size);
      return row ? { value: row.value } : null;
    }
    case 'throughput-ratio-min': {
      const rows = summaryPair(r, m.a, m.b).filter((x) => x.size >= m.minSize);
      if (rows.length === 0) return null;
      const worst = rows.reduce((a, b) => (b.value < a.value ? b : a));
      return { value: worst.value, detail: `lowest, at ${sizeLabel(worst.size)}` };
    }
    case 'round-trip': {
      const row = latencyRows(r).find((x) => x.series === m.series);
      return row ? { value: row.median, detail: 'median' } : null;
    }
    case 'round-trip-ratio': {
      const rows = latencyRows(r);
      const a = rows.find((x) => x.series === m.a);
      const b = rows.find((x) => x.series === m.b);
      return a && b ? { value: a.median / b.median, detail: `${fmtFixed(a.median, 1)} µs vs ${fmtFixed(b.median, 1)} µs` } : null;
    }
    case 'concurrency': {
      const conc = concurrentRows(r);
      const one = conc.find((x) => x.conns === 1);
      const most = conc.length > 0 ? conc.reduce((a, b) => (b.conns > a.conns ? b : a)) : undefined;
      if (!one || !most || most.conns === 1) return null;
      return { value: most.mbps / one.mbps, detail: `${most.conns} connections: ${fmtInt(most.mbps)} vs ${fmtInt(one.mbps)} MB/s` };
    }
    case 'idle-cpu': {
      const idle = r.samples.idle;
      if (idle.length === 0) return null;
      return { value: Math.max(...idle.map((x) => Math.max(x.benchCpu, x.peerCpu))), detail: 'higher of the two sides' };
    }
    case 'messages-per-sec': {
      const row = messageRows(r).find((x) => x.series === m.series);
      return row ? { value: row.messagesPerSec } : null;
    }
    case 'worker-vs-clone': {
      const cell = workerRows(r)
        .find((x) => x.size === m.size)
        ?.cells.find((c) => c.kind === m.worker);
      return cell?.vsRef != null ? { value: cell.vsRef } : null;
    }
  }
}

/** Median throughput of `a` over `b` per size (the summary's arithmetic). */
function summaryPair(r: Results, a: SeriesKey, b: SeriesKey): Array<{ size: number; value: number }> {
  const bs = new Map(oneWayRows(r, b).map((x) => [x.size, x.mbps]));
  return oneWayRows(r, a)
    .filter((x) => bs.has(x.size))
    .map((x) => ({ size: x.size, value: x.mbps / bs.get(x.size)! }));
}

function fmtTargetValue(t: Target, v: number): string {
  switch (t.unit) {
    case '×':
      return `${v.toFixed(2)}×`;
    case '%':
      return `${(v * 100).toFixed(1)}%`;
    case 'µs':
      return `${v.toFixed(1)} µs`;
    case 'messages/s':
      return `${fmtInt(v)} messages/s`;
    case '% of a core':
      return `${v.toFixed(2)}% of a core`;
  }
}

export function targetRows(r: Results): TargetRow[] {
  return TARGETS.map((t) => {
    const e = evaluate(r, t.metric);
    const target = `${t.op === '>=' ? '≥' : '≤'} ${fmtTargetValue(t, t.bound)}`;
    if (e === null) return { measure: t.measure, target, measured: 'not measured', met: null, value: null };
    const met = t.op === '>=' ? e.value >= t.bound : e.value <= t.bound;
    return { measure: t.measure, target, measured: `${fmtTargetValue(t, e.value)}${e.detail ? ` (${e.detail})` : ''}`, met, value: e.value };
  });
}

// ---- markdown ---------------------------------------------------------------

const KiB = 1024;
const MiB = 1024 * 1024;

export function sizeLabel(size: number): string {
  if (size >= MiB && size % MiB === 0) return `${size / MiB} MiB`;
  if (size >= KiB && size % KiB === 0) return `${size / KiB} KiB`;
  return `${size} B`;
}

const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
function fmtInt(v: number): string {
  return intFmt.format(Math.round(v));
}
function fmtFixed(v: number, digits: number): string {
  return new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(v);
}
function fmtRatio(v: Ratio | number | null, digits = 2): string {
  if (v === null) return '–';
  if (typeof v === 'number') return `${v.toFixed(digits)}×`;
  return `${v.value.toFixed(digits)}×${v.wide ? ' †' : ''}`;
}
function fmtPercent(v: Ratio | null): string {
  return v === null ? '–' : `${(v.value * 100).toFixed(1)}%${v.wide ? ' †' : ''}`;
}

function table(head: string[], align: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${align.join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function throughputTable(first: string, rows: Array<ThroughputRow & { first: string }>): string {
  return table(
    [first, 'Operations/sec', 'Throughput (MB/s)', 'Latency (ns/op)', 'Spread (MB/s, min–max)', 'CPU s/GB (both sides)'],
    ['---:', '---:', '---:', '---:', '---:', '---:'],
    rows.map((x) => [
      x.first,
      fmtInt(x.opsPerSec),
      fmtFixed(x.mbps, 2),
      fmtInt(x.nsPerOp),
      `${fmtInt(x.mbpsMin)}–${fmtInt(x.mbpsMax)}`,
      x.cpuPerGB === null ? '–' : fmtFixed(x.cpuPerGB, 3),
    ]),
  );
}

function roundTripTable(first: string, rows: LatencyRow[], perSec: string): string {
  return table(
    [first, 'Median (µs)', 'p99 (µs)', perSec, 'Spread of medians (µs)', 'Spread of p99 (µs)'],
    ['---', '---:', '---:', '---:', '---:', '---:'],
    rows.map((x) => [
      x.label,
      fmtFixed(x.median, 1),
      fmtFixed(x.p99, 1),
      fmtInt(x.perSec),
      `${fmtFixed(x.medianMin, 1)}–${fmtFixed(x.medianMax, 1)}`,
      `${fmtFixed(x.p99Min, 1)}–${fmtFixed(x.p99Max, 1)}`,
    ]),
  );
}

function cellsTable<K extends string>(rows: Array<WorkerRow<K>>, columns: Array<{ kind: K; label: string }>): string {
  const cols = columns.filter((k) => rows.some((x) => x.cells.some((cell) => cell.kind === k.kind)));
  const cellOf = (row: WorkerRow<K>, kind: K) => row.cells.find((x) => x.kind === kind);
  const out: string[][] = [];
  for (const row of rows) {
    out.push([
      sizeLabel(row.size),
      ...cols.map((k) => {
        const x = cellOf(row, k.kind);
        return x === undefined ? '–' : `${fmtInt(x.mbps)} (${fmtRatio(x.vsRef)})`;
      }),
    ]);
    out.push([
      `${sizeLabel(row.size)}, spread`,
      ...cols.map((k) => {
        const x = cellOf(row, k.kind);
        return x === undefined ? '–' : `${fmtInt(x.mbpsMin)}–${fmtInt(x.mbpsMax)}`;
      }),
    ]);
  }
  return table(['Chunk', ...cols.map((k) => k.label)], ['---:', ...cols.map(() => '---:')], out);
}

export function markdown(r: Results): string {
  const c = r.config;
  const out: string[] = [];
  const on = measuredOn(r.machine);
  const section = (title: string, ...body: string[]) => out.push(`### ${title}`, ...body, on);
  out.push(`Machine: ${describeMachine(r.machine)}.${c.pinned ? ' Pinned: bench process on CPU 0, peer on CPU 1 (--pin).' : ''}`);
  out.push(
    `Method: ${c.reps} repetitions per cell, median shown; ${c.warmupMs} ms warm-up + ${c.durationMs} ms timed per throughput sample, ` +
      `${c.latencyMs} ms per round-trip sample; transports and peer libraries interleaved within each repetition. ` +
      `Memory copy: ${c.memcpyWarmupMs} ms warm-up, the fastest of ${c.memcpySlices} timed slices. MB = 10^6 bytes; ` +
      `"Latency (ns/op)" in the throughput tables is time per chunk (1/Operations per sec), as in the seed; round trips have their own tables.`,
  );
  const metas: SampleMeta[] = [
    ...r.samples.oneWay,
    ...r.samples.concurrent,
    ...r.samples.latency,
    ...(r.samples.roundTrip ?? []),
    ...r.samples.idle,
    ...(r.samples.message ?? []),
    ...(r.samples.worker ?? []),
    ...(r.samples.toWorker ?? []),
  ];
  const known = metas.map((m) => m.foreignCpu).filter((x): x is number => x !== null);
  if (known.length > 0) {
    const repeated = metas.filter((m) => m.attempts > 1).length;
    const policy = Number.isFinite(r.config.maxForeignCpu)
      ? `${repeated} of ${metas.length} samples were repeated because they ran alongside more than ${r.config.maxForeignCpu}%`
      : 'no sample was repeated for it (the check was off)';
    out.push(
      `Other processes on the machine used at most ${Math.max(...known).toFixed(0)}% of a core during a kept sample ` +
        `(median ${summarize(known).median.toFixed(1)}%); ${policy}.`,
    );
  }
  for (const s of r.skipped ?? []) out.push(`Skipped: ${s.what} (${s.reason}).`);
  const wideNote = `† the ratio rests on a min–max spread wider than ${WIDE_SPREAD}× in at least one of its two cells: read it as a range, not a figure.`;

  const sum = summaryRows(r).filter((x) => x.shmMbps !== null || x.unixVsTcp !== null || x.pipeVsTcp !== null);
  if (sum.length > 0) {
    const showZmq = sum.some((x) => x.shmVsZeromq !== null);
    section(
      'Summary: one-way throughput, ratios of medians (same run)',
      table(
        ['Size', 'shmnet / TCP', 'Unix / TCP', 'Pipe / TCP', 'shmnet / Unix', 'shmnet / Pipe', ...(showZmq ? ['shmnet / zeromq'] : []), 'shmnet / memcpy', 'shmnet (MB/s)', 'CPU per GB, shmnet / TCP'],
        ['---:', '---:', '---:', '---:', '---:', '---:', ...(showZmq ? ['---:'] : []), '---:', '---:', '---:'],
        sum.map((x) => [
          sizeLabel(x.size),
          fmtRatio(x.shmVsTcp),
          fmtRatio(x.unixVsTcp),
          fmtRatio(x.pipeVsTcp),
          fmtRatio(x.shmVsUnix),
          fmtRatio(x.shmVsPipe),
          ...(showZmq ? [fmtRatio(x.shmVsZeromq)] : []),
          fmtPercent(x.shmVsMemcpy),
          x.shmMbps === null ? '–' : fmtInt(x.shmMbps),
          fmtRatio(x.shmCpuVsTcp),
        ]),
      ),
      wideNote,
    );
  }
  if (sum.some((x) => x.onreadVsTcp !== null || x.lanesVsTcp !== null)) {
    section(
      'Summary: the receive paths, ratios of medians (same run)',
      'CPU per GB counts both processes. Below 1×, the path costs less CPU per byte than TCP.',
      table(
        ['Size', 'onread / TCP', 'onread / memcpy', 'CPU per GB, onread / TCP', 'claim+borrow / TCP', 'claim+borrow / memcpy', 'CPU per GB, claim+borrow / TCP'],
        ['---:', '---:', '---:', '---:', '---:', '---:', '---:'],
        sum.map((x) => [
          sizeLabel(x.size),
          fmtRatio(x.onreadVsTcp),
          fmtPercent(x.onreadVsMemcpy),
          fmtRatio(x.onreadCpuVsTcp),
          fmtRatio(x.lanesVsTcp),
          fmtPercent(x.lanesVsMemcpy),
          fmtRatio(x.lanesCpuVsTcp),
        ]),
      ),
    );
  }
  const peers = peerRows(r);
  if (peers.length > 0) {
    section(
      'Summary: shmnet against the peer libraries (same run)',
      'Ratio: shmnet over the peer for throughput and calls/s, the peer\'s median round-trip time over shmnet\'s for round trips; above 1× shmnet is faster, below 1× the peer is.',
      table(
        ['Peer', 'Comparison', 'shmnet', 'Peer', 'Ratio'],
        ['---', '---', '---:', '---:', '---:'],
        peers.map((x) => [x.peer, x.measure, x.shmnet, x.other, fmtRatio(x.ratio)]),
      ),
      wideNote,
    );
  }
  const targets = targetRows(r);
  if (targets.some((x) => x.met !== null)) {
    section(
      'Targets',
      table(
        ['Measure', 'Target', 'Measured', 'Met'],
        ['---', '---', '---', '---'],
        targets.map((x) => [x.measure, x.target, x.measured, x.met === null ? '–' : x.met ? 'yes' : '**no**']),
      ),
    );
  }

  for (const t of ONE_WAY_SERIES) {
    const rows = oneWayRows(r, t.series);
    if (rows.length === 0) continue;
    const rejected = r.samples.oneWay.filter((x) => x.series === t.series && x.rejected !== undefined);
    section(
      t.title,
      throughputTable('Size (Bytes)', rows.map((x) => ({ ...x, first: fmtInt(x.size) }))),
      ...(rejected.length > 0
        ? [`${rejected.length} sample(s) left out: ${rejected.map((x) => `${sizeLabel(x.size)} ${fmtInt(x.mbps)} MB/s (${x.rejected})`).join('; ')}.`]
        : []),
    );
  }
  const conc = concurrentRows(r);
  if (conc.length > 0) {
    section(`Concurrent shmnet Conns (${sizeLabel(c.concurrentSize)} chunks, aggregate)`, throughputTable('Concurrency', conc.map((x) => ({ ...x, first: String(x.conns) }))));
  }
  const lat = latencyRows(r);
  if (lat.length > 0) section(`Round-trip latency (${c.latencySize}-byte ping-pong)`, roundTripTable('Transport', lat, 'Round trips/s'));
  const rpc = roundTripRows(r, 'rpc');
  if (rpc.length > 0) {
    section(
      'Request/response between two processes (64 bytes, one request in flight)',
      'MessageConn sends a 64-byte object (MessagePack) to an echo in the peer process and waits for it; zeromq sends 64 raw bytes from a Request to a Reply socket over `ipc://` (no serialisation).',
      roundTripTable('Transport', rpc, 'Round trips/s'),
    );
  }
  const grpc = roundTripRows(r, 'grpc');
  if (grpc.length > 0) {
    section(
      'gRPC unary calls (one call in flight)',
      'One @grpc/grpc-js server in the peer process, an Echo method (bytes in, bytes out); calls/s is calls completed over the timed window. The grpc-js client cannot take a custom transport, so shmnet is reached with gRPC over `node:http2` and `createConnection`; the same client over the Unix socket isolates the transport.',
      table(
        ['Client, transport', 'Payload', 'Calls/s', 'Median (µs)', 'p99 (µs)', 'Spread of medians (µs)'],
        ['---', '---:', '---:', '---:', '---:', '---:'],
        grpc.map((x) => [x.label, sizeLabel(x.size), fmtInt(x.perSec), fmtFixed(x.median, 1), fmtFixed(x.p99, 1), `${fmtFixed(x.medianMin, 1)}–${fmtFixed(x.medianMax, 1)}`]),
      ),
    );
  }
  const tasks = roundTripRows(r, 'tasks');
  if (tasks.length > 0) {
    section(
      'Task round trips, main thread ↔ one worker thread (64-byte object)',
      'piscina is a worker pool over MessagePort (a data point for tasks, not for bytes); the other rows are the same echo without a pool.',
      roundTripTable('Path', tasks, 'Round trips/s'),
    );
  }
  const idle = r.samples.idle;
  if (idle.length > 0) {
    section(
      'Idle shmnet Conn',
      table(
        ['Idle after', 'Window', 'CPU, bench side', 'CPU, peer side'],
        ['---:', '---:', '---:', '---:'],
        idle.map((x) => [`${fmtInt(x.settleMs)} ms`, `${fmtInt(x.windowMs)} ms`, `${x.benchCpu.toFixed(2)}%`, `${x.peerCpu.toFixed(2)}%`]),
      ),
    );
  }
  const msg = messageRows(r);
  if (msg.length > 0) {
    section(
      `MessageConn, ${c.messageBytes}-byte objects, one-way between two processes`,
      `The peer process sends without pause (\`send()\`, waiting for 'drain' when it returns false), the bench process counts 'message' ` +
        `events and checks every id arrives in order; messages/s is the count in a ${c.durationMs} ms window after ${c.warmupMs} ms of ` +
        `warm-up. The object is the same in every row; with \`records: true\` on both ends its keys cross once, so a frame is ` +
        `smaller (Frame: MessagePack + 4-byte length); MB/s counts frame bytes. Each row is compared with the TCP fallback ` +
        `using the same encoding.`,
      table(
        ['Transport', 'Frame (B)', 'Messages/sec', 'Throughput (MB/s)', 'Latency (ns/op)', 'Spread (messages/s, min–max)', 'vs TCP fallback'],
        ['---', '---:', '---:', '---:', '---:', '---:', '---:'],
        msg.map((x) => [
          x.label,
          fmtInt(x.frameBytes),
          fmtInt(x.messagesPerSec),
          fmtFixed(x.mbps, 2),
          fmtInt(x.nsPerMessage),
          `${fmtInt(x.messagesPerSecMin)}–${fmtInt(x.messagesPerSecMax)}`,
          fmtRatio(x.vsTcp),
        ]),
      ),
    );
  }
  const wrk = workerRows(r);
  if (wrk.length > 0) {
    section(
      'Worker channel vs MessagePort, worker → main thread, one-way',
      `MB/s (ratio to MessagePort clone at the same size); the second row of each size is the min–max spread (MB/s). ` +
        `Each sample starts a fresh worker that writes without pause (channel: \`write()\` false → 'drain'; MessagePort: ` +
        `at most 4 MiB unacknowledged); the main thread counts the bytes it receives in a ${c.workerDurationMs} ms window ` +
        `after ${c.workerWarmupMs} ms of warm-up. Transfer posts a fresh, filled ArrayBuffer per chunk.`,
      cellsTable(wrk, WORKER_COLUMNS),
    );
  }
  const tow = toWorkerRows(r);
  if (tow.length > 0) {
    section(
      'Worker channel vs thread-stream, main thread → worker, one-way',
      `MB/s (ratio to thread-stream at the same size); the second row of each size is the min–max spread. Each sample starts a fresh ` +
        `worker that counts what arrives into a shared counter; the main thread writes without pause (\`write()\` false → 'drain', ` +
        `for both) and the counter is read over a ${c.workerDurationMs} ms window after ${c.workerWarmupMs} ms; at the end the count must ` +
        `equal what was written. thread-stream hands its destination UTF-8 strings (pino's use); the chunks are ASCII.`,
      cellsTable(tow, TO_WORKER_COLUMNS),
    );
  }
  return out.join('\n\n') + '\n';
}

/** Every table as rows, for the JSON file. */
export function tablesJson(r: Results): Record<string, unknown[]> {
  const t: Record<string, unknown[]> = {};
  for (const x of ONE_WAY_SERIES) t[x.key] = oneWayRows(r, x.series);
  t.concurrent = concurrentRows(r);
  t.latency = latencyRows(r);
  t.rpc = roundTripRows(r, 'rpc');
  t.grpc = roundTripRows(r, 'grpc');
  t.tasks = roundTripRows(r, 'tasks');
  t.idle = r.samples.idle.map(({ stats: _stats, ...rest }) => rest);
  t.summary = summaryRows(r);
  t.peers = peerRows(r);
  t.targets = targetRows(r);
  t.message = messageRows(r);
  t.worker = workerRows(r);
  t.toWorker = toWorkerRows(r);
  t.skipped = r.skipped ?? [];
  return t;
}
