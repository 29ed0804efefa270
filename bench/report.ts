/**
 * Turns the samples into the tables: the seed's one-way format
 * (Size | Operations/sec | Throughput (MB/s) | Latency (ns/op)) plus a
 * spread column, the concurrency and round-trip tables, the summary of
 * ratios and the targets from issue 4; then message mode and the worker
 * channel against MessagePort (issue 6). Everything here is pure: samples
 * in, rows and markdown out.
 */
import type { IdleSample } from './idle.js';
import type { LatencySample } from './latency.js';
import { describeMachine, type MachineInfo } from './machine.js';
import type { MessageSample, MessageTransport } from './message.js';
import { summarize } from './stats.js';
import type { OneWaySample } from './throughput.js';
import type { TransportKey } from './transports.js';
import type { WorkerKind, WorkerSample } from './worker.js';

export type SeriesKey = TransportKey | 'memcpy';

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

export interface MessageRecord extends MessageSample, SampleMeta {
  series: MessageTransport;
  rep: number;
}

export interface WorkerRecord extends WorkerSample, SampleMeta {
  kind: WorkerKind;
  size: number;
  rep: number;
}

export interface Results {
  format: 'shmnet-bench/1';
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
    /** Worker table: chunk sizes, and the warm-up / window of each sample, ms. */
    workerSizes: number[];
    workerWarmupMs: number;
    workerDurationMs: number;
  };
  samples: {
    oneWay: OneWayRecord[];
    concurrent: ConcurrentRecord[];
    latency: LatencyRecord[];
    idle: Array<IdleSample & SampleMeta>;
    message: MessageRecord[];
    worker: WorkerRecord[];
  };
}

/** Tables a run can be limited to with --only. */
export const TABLE_KEYS = ['shmnet', 'tcp', 'unix', 'pipe', 'memcpy', 'concurrent', 'latency', 'idle', 'message', 'worker'] as const;
export type TableKey = (typeof TABLE_KEYS)[number];

export interface OneWayTable {
  key: TableKey;
  series: SeriesKey;
  title: string;
  label: string;
}

export const ONE_WAY_TABLES: OneWayTable[] = [
  { key: 'shmnet', series: 'shm', title: 'shmnet Conn (peer in a separate process, one-way)', label: 'shmnet' },
  { key: 'tcp', series: 'tcp', title: 'TCP Local (node:net, 127.0.0.1)', label: 'TCP' },
  { key: 'unix', series: 'unix', title: 'Unix socket (node:net)', label: 'Unix socket' },
  { key: 'pipe', series: 'pipe', title: 'Pipe (child process stdin)', label: 'Pipe' },
  { key: 'memcpy', series: 'memcpy', title: 'Memory Copy (Buffer.copy in one process, baseline)', label: 'memcpy' },
];

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
  };
}

export function oneWayRows(r: Results, series: SeriesKey): ThroughputRow[] {
  const rows: ThroughputRow[] = [];
  for (const size of r.config.sizes) {
    const s = r.samples.oneWay.filter((x) => x.series === series && x.size === size);
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
  series: TransportKey;
  label: string;
  size: number;
  reps: number;
  roundTrips: number;
  /** µs: median over repetitions of each repetition's median / p99. */
  median: number;
  p99: number;
  medianMin: number;
  medianMax: number;
  p99Min: number;
  p99Max: number;
}

export function latencyRows(r: Results): LatencyRow[] {
  const rows: LatencyRow[] = [];
  for (const { series, label } of LATENCY_SERIES) {
    const s = r.samples.latency.filter((x) => x.series === series);
    if (s.length === 0) continue;
    const med = summarize(s.map((x) => x.median));
    const p99 = summarize(s.map((x) => x.p99));
    rows.push({
      series,
      label,
      size: r.config.latencySize,
      reps: s.length,
      roundTrips: s.reduce((a, x) => a + x.roundTrips, 0),
      median: med.median,
      p99: p99.median,
      medianMin: med.min,
      medianMax: med.max,
      p99Min: p99.min,
      p99Max: p99.max,
    });
  }
  return rows;
}

export const MESSAGE_SERIES: Array<{ series: MessageTransport; label: string }> = [
  { series: 'shm', label: 'shared memory' },
  { series: 'tcp', label: "TCP fallback (`transport: 'tcp'`)" },
];

export interface MessageRow {
  series: MessageTransport;
  label: string;
  reps: number;
  /** Median over repetitions. */
  messagesPerSec: number;
  /** Frame bytes per second, 10^6 (from the median rate). */
  mbps: number;
  nsPerMessage: number;
  messagesPerSecMin: number;
  messagesPerSecMax: number;
  /** Median rate over the TCP fallback's median rate, same run. */
  vsTcp: number | null;
  receiverCpu: number;
}

export function messageRows(r: Results): MessageRow[] {
  const med = new Map<MessageTransport, number>();
  const rows: MessageRow[] = [];
  for (const { series, label } of MESSAGE_SERIES) {
    const s = (r.samples.message ?? []).filter((x) => x.series === series);
    if (s.length === 0) continue;
    const m = summarize(s.map((x) => x.messagesPerSec));
    med.set(series, m.median);
    rows.push({
      series,
      label,
      reps: m.n,
      messagesPerSec: m.median,
      mbps: (m.median * r.config.messageFrameBytes) / 1e6,
      nsPerMessage: 1e9 / m.median,
      messagesPerSecMin: m.min,
      messagesPerSecMax: m.max,
      vsTcp: null,
      receiverCpu: summarize(s.map((x) => x.receiverCpu)).median,
    });
  }
  const tcp = med.get('tcp');
  for (const row of rows) row.vsTcp = tcp === undefined ? null : row.messagesPerSec / tcp;
  return rows;
}

export const WORKER_COLUMNS: Array<{ kind: WorkerKind; label: string }> = [
  { kind: 'channel', label: 'channel, defaults' },
  { kind: 'tuned', label: 'channel, 4 MiB ring + spin 1000' },
  { kind: 'clone', label: 'MessagePort clone' },
  { kind: 'transfer', label: 'MessagePort transfer' },
];

export interface WorkerCell {
  kind: WorkerKind;
  reps: number;
  /** MB/s, median over repetitions. */
  mbps: number;
  mbpsMin: number;
  mbpsMax: number;
  opsPerSec: number;
  /** Median over the MessagePort-clone median at the same size, same run. */
  vsClone: number | null;
}

export interface WorkerRow {
  size: number;
  cells: WorkerCell[];
}

export function workerRows(r: Results): WorkerRow[] {
  const rows: WorkerRow[] = [];
  for (const size of r.config.workerSizes ?? []) {
    const cells: WorkerCell[] = [];
    for (const { kind } of WORKER_COLUMNS) {
      const s = (r.samples.worker ?? []).filter((x) => x.kind === kind && x.size === size);
      if (s.length === 0) continue;
      const m = summarize(s.map((x) => x.mbps));
      cells.push({ kind, reps: m.n, mbps: m.median, mbpsMin: m.min, mbpsMax: m.max, opsPerSec: (m.median * 1e6) / size, vsClone: null });
    }
    const clone = cells.find((c) => c.kind === 'clone');
    for (const c of cells) c.vsClone = clone ? c.mbps / clone.mbps : null;
    if (cells.length > 0) rows.push({ size, cells });
  }
  return rows;
}

export interface SummaryRow {
  size: number;
  shmMbps: number | null;
  shmVsTcp: number | null;
  unixVsTcp: number | null;
  pipeVsTcp: number | null;
  shmVsUnix: number | null;
  shmVsPipe: number | null;
  /** shmnet throughput as a fraction of memcpy (0..1). */
  shmVsMemcpy: number | null;
}

export function summaryRows(r: Results): SummaryRow[] {
  const at = (series: SeriesKey): Map<number, number> => new Map(oneWayRows(r, series).map((x) => [x.size, x.mbps]));
  const shm = at('shm');
  const tcp = at('tcp');
  const unix = at('unix');
  const pipe = at('pipe');
  const mem = at('memcpy');
  const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? null : a / b);
  return r.config.sizes.map((size) => ({
    size,
    shmMbps: shm.get(size) ?? null,
    shmVsTcp: ratio(shm.get(size), tcp.get(size)),
    unixVsTcp: ratio(unix.get(size), tcp.get(size)),
    pipeVsTcp: ratio(pipe.get(size), tcp.get(size)),
    shmVsUnix: ratio(shm.get(size), unix.get(size)),
    shmVsPipe: ratio(shm.get(size), pipe.get(size)),
    shmVsMemcpy: ratio(shm.get(size), mem.get(size)),
  }));
}

export interface TargetRow {
  measure: string;
  target: string;
  /** Human-readable measured value; 'not measured' when the run lacks the data. */
  measured: string;
  met: boolean | null;
  value: number | null;
}

const KiB = 1024;
const MiB = 1024 * 1024;

export function targetRows(r: Results): TargetRow[] {
  const sum = summaryRows(r);
  const bySize = new Map(sum.map((x) => [x.size, x]));
  const rows: TargetRow[] = [];
  const push = (measure: string, target: string, value: number | null, fmt: (v: number) => string, ok: (v: number) => boolean) =>
    rows.push({ measure, target, value, measured: value === null ? 'not measured' : fmt(value), met: value === null ? null : ok(value) });
  const times = (v: number) => `${v.toFixed(2)}×`;

  for (const [size, min] of [
    [KiB, 20],
    [4 * KiB, 8],
    [64 * KiB, 3],
    [MiB, 2],
  ] as const) {
    push(`Conn throughput vs TCP loopback, ${sizeLabel(size)}`, `≥ ${min}×`, bySize.get(size)?.shmVsTcp ?? null, times, (v) => v >= min);
  }

  const vsUnix = sum.filter((x) => x.shmVsUnix !== null);
  if (vsUnix.length > 0) {
    const worst = vsUnix.reduce((a, b) => (b.shmVsUnix! < a.shmVsUnix! ? b : a));
    push('Conn throughput vs Unix socket, every size', '≥ 1.5×', worst.shmVsUnix, (v) => `${times(v)} (lowest, at ${sizeLabel(worst.size)})`, (v) => v >= 1.5);
  } else push('Conn throughput vs Unix socket, every size', '≥ 1.5×', null, times, () => false);

  const vsMem = sum.filter((x) => x.size >= 64 * KiB && x.shmVsMemcpy !== null);
  if (vsMem.length > 0) {
    const worst = vsMem.reduce((a, b) => (b.shmVsMemcpy! < a.shmVsMemcpy! ? b : a));
    push('Conn throughput vs memcpy, ≥ 64 KiB', '≥ 35%', worst.shmVsMemcpy, (v) => `${(v * 100).toFixed(1)}% (lowest, at ${sizeLabel(worst.size)})`, (v) => v >= 0.35);
  } else push('Conn throughput vs memcpy, ≥ 64 KiB', '≥ 35%', null, String, () => false);

  const lat = new Map(latencyRows(r).map((x) => [x.series, x]));
  const us = (v: number) => `${v.toFixed(1)} µs`;
  push(`${r.config.latencySize} B round trip, default spin`, '≤ 5 µs median', lat.get('shm')?.median ?? null, (v) => `${us(v)} median`, (v) => v <= 5);
  const park = lat.get('shm-park');
  const unix = lat.get('unix');
  push(
    `${r.config.latencySize} B round trip, \`spin: 0\``,
    '≤ 1.2× the Unix-socket round trip',
    park && unix ? park.median / unix.median : null,
    (v) => `${times(v)} (${us(park!.median)} vs ${us(unix!.median)})`,
    (v) => v <= 1.2,
  );

  const conc = concurrentRows(r);
  const one = conc.find((x) => x.conns === 1);
  const most = conc.length > 0 ? conc.reduce((a, b) => (b.conns > a.conns ? b : a)) : undefined;
  const label = `${most?.conns ?? 16} concurrent connections`;
  push(
    label,
    'aggregate ≥ 0.8× a single connection',
    one && most && most.conns > 1 ? most.mbps / one.mbps : null,
    (v) => `${times(v)} (${fmtFixed(most!.mbps, 0)} vs ${fmtFixed(one!.mbps, 0)} MB/s)`,
    (v) => v >= 0.8,
  );

  const idle = r.samples.idle;
  const idleMax = idle.length > 0 ? Math.max(...idle.map((x) => Math.max(x.benchCpu, x.peerCpu))) : null;
  push(
    'idle Conn',
    '~0 CPU after the spin budget (< 1% of a core, each side)',
    idleMax,
    (v) => `${v.toFixed(2)}% of a core (higher of the two sides)`,
    (v) => v < 1,
  );
  return rows;
}

// ---- markdown ---------------------------------------------------------------

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
function fmtRatio(v: number | null, digits = 2): string {
  return v === null ? '–' : `${v.toFixed(digits)}×`;
}

function table(head: string[], align: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${align.join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function throughputTable(first: string, rows: Array<ThroughputRow & { first: string }>): string {
  return table(
    [first, 'Operations/sec', 'Throughput (MB/s)', 'Latency (ns/op)', 'Spread (MB/s, min–max)'],
    ['---:', '---:', '---:', '---:', '---:'],
    rows.map((x) => [x.first, fmtInt(x.opsPerSec), fmtFixed(x.mbps, 2), fmtInt(x.nsPerOp), `${fmtInt(x.mbpsMin)}–${fmtInt(x.mbpsMax)}`]),
  );
}

export function markdown(r: Results): string {
  const c = r.config;
  const out: string[] = [];
  out.push(`Machine: ${describeMachine(r.machine)}.${c.pinned ? ' Pinned: bench process on CPU 0, peer on CPU 1 (--pin).' : ''}`);
  out.push(
    `Method: ${c.reps} repetitions per cell, median shown; ${c.warmupMs} ms warm-up + ${c.durationMs} ms timed per throughput sample, ` +
      `${c.latencyMs} ms per latency sample; transports interleaved within each repetition. MB = 10^6 bytes; ` +
      `"Latency (ns/op)" in the throughput tables is time per chunk (1/Operations per sec), as in the seed; round-trip latency has its own table.`,
  );
  const metas: SampleMeta[] = [
    ...r.samples.oneWay,
    ...r.samples.concurrent,
    ...r.samples.latency,
    ...r.samples.idle,
    ...(r.samples.message ?? []),
    ...(r.samples.worker ?? []),
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
  for (const t of ONE_WAY_TABLES) {
    const rows = oneWayRows(r, t.series);
    if (rows.length === 0) continue;
    out.push(`### ${t.title}`);
    out.push(throughputTable('Size (Bytes)', rows.map((x) => ({ ...x, first: fmtInt(x.size) }))));
  }
  const conc = concurrentRows(r);
  if (conc.length > 0) {
    out.push(`### Concurrent shmnet Conns (${sizeLabel(c.concurrentSize)} chunks, aggregate)`);
    out.push(throughputTable('Concurrency', conc.map((x) => ({ ...x, first: String(x.conns) }))));
  }
  const lat = latencyRows(r);
  if (lat.length > 0) {
    out.push(`### Round-trip latency (${c.latencySize}-byte ping-pong)`);
    out.push(
      table(
        ['Transport', 'Median (µs)', 'p99 (µs)', 'Round trips/s', 'Spread of medians (µs)', 'Spread of p99 (µs)'],
        ['---', '---:', '---:', '---:', '---:', '---:'],
        lat.map((x) => [
          x.label,
          fmtFixed(x.median, 1),
          fmtFixed(x.p99, 1),
          fmtInt(1e6 / x.median),
          `${fmtFixed(x.medianMin, 1)}–${fmtFixed(x.medianMax, 1)}`,
          `${fmtFixed(x.p99Min, 1)}–${fmtFixed(x.p99Max, 1)}`,
        ]),
      ),
    );
  }
  const idle = r.samples.idle;
  if (idle.length > 0) {
    out.push('### Idle shmnet Conn');
    out.push(
      table(
        ['Idle after', 'Window', 'CPU, bench side', 'CPU, peer side'],
        ['---:', '---:', '---:', '---:'],
        idle.map((x) => [`${fmtInt(x.settleMs)} ms`, `${fmtInt(x.windowMs)} ms`, `${x.benchCpu.toFixed(2)}%`, `${x.peerCpu.toFixed(2)}%`]),
      ),
    );
  }
  const sum = summaryRows(r).filter((x) => x.shmMbps !== null || x.unixVsTcp !== null || x.pipeVsTcp !== null);
  if (sum.length > 0) {
    out.push('### Summary (ratios of medians, same run)');
    out.push(
      table(
        ['Size', 'shmnet (MB/s)', 'shmnet / TCP', 'Unix / TCP', 'Pipe / TCP', 'shmnet / Unix', 'shmnet / Pipe', 'shmnet / memcpy'],
        ['---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:'],
        sum.map((x) => [
          sizeLabel(x.size),
          x.shmMbps === null ? '–' : fmtFixed(x.shmMbps, 0),
          fmtRatio(x.shmVsTcp),
          fmtRatio(x.unixVsTcp),
          fmtRatio(x.pipeVsTcp),
          fmtRatio(x.shmVsUnix),
          fmtRatio(x.shmVsPipe),
          x.shmVsMemcpy === null ? '–' : `${(x.shmVsMemcpy * 100).toFixed(1)}%`,
        ]),
      ),
    );
  }
  const oneWayRun = r.config.tables.some((t) => t !== 'message' && t !== 'worker');
  if (oneWayRun) {
    out.push('### Targets (issue 4)');
    out.push(
      table(
        ['Measure', 'Target', 'Measured', 'Met'],
        ['---', '---', '---', '---'],
        targetRows(r).map((x) => [x.measure, x.target, x.measured, x.met === null ? '–' : x.met ? 'yes' : '**no**']),
      ),
    );
  }
  const msg = messageRows(r);
  if (msg.length > 0) {
    out.push(
      `### MessageConn, ${c.messageBytes}-byte objects, one-way between two processes (message mode target ≥ 1,000,000 messages/s (issue 6))`,
    );
    out.push(
      `The peer process sends without pause (\`send()\`, waiting for 'drain' when it returns false), the bench process counts 'message' ` +
        `events and checks every id arrives in order; messages/s is the count in a ${c.durationMs} ms window after ${c.warmupMs} ms of ` +
        `warm-up; MB/s counts ${c.messageFrameBytes}-byte frames (MessagePack + 4-byte length).`,
    );
    out.push(
      table(
        ['Transport', 'Messages/sec', 'Throughput (MB/s)', 'Latency (ns/op)', 'Spread (messages/s, min–max)', 'vs TCP fallback'],
        ['---', '---:', '---:', '---:', '---:', '---:'],
        msg.map((x) => [
          x.label,
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
    out.push(
      '### Worker channel vs MessagePort, worker → main thread, one-way ' +
        '(worker channel target ≥ 10× MessagePort clone at 1 KiB, ≥ 2× at 64 KiB (issue 6))',
    );
    out.push(
      `MB/s (ratio to MessagePort clone at the same size); the second row of each size is the min–max spread (MB/s). ` +
        `Each sample starts a fresh worker that writes without pause (channel: \`write()\` false → 'drain'; MessagePort: ` +
        `at most 4 MiB unacknowledged); the main thread counts the bytes it receives in a ${c.workerDurationMs} ms window ` +
        `after ${c.workerWarmupMs} ms of warm-up. Transfer posts a fresh, filled ArrayBuffer per chunk.`,
    );
    const cols = WORKER_COLUMNS.filter((k) => wrk.some((x) => x.cells.some((cell) => cell.kind === k.kind)));
    const cellOf = (row: WorkerRow, kind: WorkerKind) => row.cells.find((x) => x.kind === kind);
    const rows: string[][] = [];
    for (const row of wrk) {
      rows.push([
        sizeLabel(row.size),
        ...cols.map((k) => {
          const x = cellOf(row, k.kind);
          return x === undefined ? '–' : `${fmtInt(x.mbps)} (${fmtRatio(x.vsClone)})`;
        }),
      ]);
      rows.push([
        `${sizeLabel(row.size)}, spread`,
        ...cols.map((k) => {
          const x = cellOf(row, k.kind);
          return x === undefined ? '–' : `${fmtInt(x.mbpsMin)}–${fmtInt(x.mbpsMax)}`;
        }),
      ]);
    }
    out.push(table(['Chunk', ...cols.map((k) => k.label)], ['---:', ...cols.map(() => '---:')], rows));
  }
  return out.join('\n\n') + '\n';
}

/** Every table as rows, for the JSON file. */
export function tablesJson(r: Results): Record<string, unknown[]> {
  const t: Record<string, unknown[]> = {};
  for (const x of ONE_WAY_TABLES) t[x.key] = oneWayRows(r, x.series);
  t.concurrent = concurrentRows(r);
  t.latency = latencyRows(r);
  t.idle = r.samples.idle.map(({ stats: _stats, ...rest }) => rest);
  t.summary = summaryRows(r);
  t.targets = targetRows(r);
  t.message = messageRows(r);
  t.worker = workerRows(r);
  return t;
}
