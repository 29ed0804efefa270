#!/usr/bin/env node
/**
 * shmnet-bench: the seed's benchmark tables, measured between real
 * processes. `npm run bench` (or `npx shmnet-bench`) runs everything with
 * the defaults below in a few minutes; progress goes to stderr, markdown
 * tables to stdout.
 *
 *   shmnet-bench [--quick] [--sizes 1k,4k,...] [--duration ms] [--warmup ms]
 *                [--reps n] [--only table,...] [--json file] [--svg file]
 *
 * Method (see README, Benchmarks): one peer process (peer.ts) on the other
 * core is the receiver / echo side of every transport; a warm-up pass, then
 * for each cell several repetitions, transports interleaved within each
 * repetition (in an order rotated per repetition) so drift hits all alike;
 * the median is reported and every sample is kept in the JSON. The message
 * and worker tables (message.ts, worker.ts) take time-window samples of a
 * sender that runs without pause, the same way.
 *
 * The peer libraries (zeromq, thread-stream, @grpc/grpc-js, piscina) are
 * optional rows measured by the same code in the same repetitions; one
 * that does not load is listed as skipped, with the reason (optional.ts).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { measureForeign, waitForQuiet } from './foreign.js';
import { grpcExchanger } from './grpc.js';
import { idleCpu } from './idle.js';
import { roundTrip, roundTrips, type Exchanger } from './latency.js';
import { rpcMarkdown, runRpc, type RpcResults } from './rpc.js';
import { machineInfo } from './machine.js';
import { MESSAGE_FRAME_BYTES, MESSAGE_PAYLOAD_BYTES, messageOneWay, type MessageSeries } from './message.js';
import { loadPeer, type PeerLibrary } from './optional.js';
import { Peer } from './peer-client.js';
import { markdown, sizeLabel, tablesJson, type OneWayRecord, type Results, type SampleMeta, type Skipped } from './report.js';
import { messageExchanger } from './message-rpc.js';
import { ONE_WAY_SERIES, ROUND_TRIP_SERIES, TABLE_KEYS, type TableKey } from './series.js';
import { median } from './stats.js';
import { latencySvg, throughputSvg } from './svg.js';
import { taskExchanger } from './tasks.js';
import { memcpyOneWay, oneWay, type OneWaySample } from './throughput.js';
import { TO_WORKER_KINDS, TO_WORKER_SIZES, toWorkerOneWay, type ToWorkerKind } from './to-worker.js';
import { PIPE, SHM, SHM_LANES, SHM_ONREAD, SHM_PARK, TCP, UNIX, type Transport } from './transports.js';
import { WORKER_KINDS, WORKER_SIZES, workerOneWay } from './worker.js';
import { ZMQ_PUSH, zmqExchanger } from './zeromq.js';

/** The request/response section (rpc.ts), run after the tables. */
const RPC_KEY = 'reqres';

const USAGE = `usage: shmnet-bench [options]

  --quick            a smoke run in seconds (2 short repetitions per cell)
  --sizes LIST       chunk sizes for the throughput tables, e.g. 1k,4k,64k,1m
                     (default 1k,4k,16k,64k,256k,1m; the worker table always
                     uses 1k and 64k)
  --duration MS      timed part of each throughput, message and worker sample,
                     ms (default 400)
  --warmup MS        untimed warm-up before each sample, ms (default 100)
  --latency MS       timed part of each latency sample, ms (default 600)
  --reps N           repetitions per cell (default 5)
  --max-foreign PCT  repeat a sample (up to 3 times, after waiting up to 60 s for
                     quiet) when other processes used more than PCT% of a core
                     meanwhile (default 20; --quick: off)
  --only LIST        run only these tables and peer libraries:
                     ${TABLE_KEYS.join(', ')}, ${RPC_KEY}
                     (${RPC_KEY}: request/response over HTTP/1.1, HTTP/2, MessageConn
                     and gRPC; its samples last --latency ms)
  --pin              pin the bench process to CPU 0 and the peer to CPU 1
                     (Linux, needs taskset; for diagnosis, off by default)
  --json FILE        write every sample, the tables and the machine info as JSON
  --svg FILE         write a throughput-vs-size chart (SVG)
  --latency-svg FILE write a round-trip chart (SVG): median and p99 per transport
  --report FILE      measure nothing: print the tables (and write --svg,
                     --latency-svg) from a --json FILE of an earlier run
  -h, --help         this text
`;

const DEFAULT_SIZES = [1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20];
const CONCURRENCY = [1, 2, 4, 8, 16];
const CONCURRENT_SIZE = 4 << 10;
const LATENCY_SIZE = 64;
const MESSAGE_TRANSPORTS: MessageSeries[] = ['shm', 'tcp', 'shm-records', 'tcp-records'];
/** Memory copy: at least this much warm-up, and the timed part cut into this many slices (the fastest counts). */
const MEMCPY_MIN_WARMUP_MS = 300;
const MEMCPY_SLICES = 8;
/** How long a contaminated sample waits for the machine to calm down before it is repeated. */
const QUIET_WAIT_MS = 60_000;

class UsageError extends Error {}

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?$/i.exec(s.trim());
  if (!m) throw new UsageError(`bad size '${s}' (try 4096, 4k or 1m)`);
  const mult = { '': 1, k: 1 << 10, m: 1 << 20, g: 1 << 30 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  const v = Math.round(Number(m[1]) * mult);
  if (v < 1 || v > 64 << 20) throw new UsageError(`size ${s} must be between 1 byte and 64 MiB`);
  return v;
}

function parseMs(name: string, s: string | undefined, dflt: number): number {
  if (s === undefined) return dflt;
  const v = Number(s);
  if (!Number.isFinite(v) || v <= 0) throw new UsageError(`--${name} must be a positive number of milliseconds, got '${s}'`);
  return v;
}

function parsePercent(s: string): number {
  const v = Number(s);
  if (!Number.isFinite(v) || v < 0) throw new UsageError(`--max-foreign must be a percentage ≥ 0, got '${s}'`);
  return v;
}

interface Config {
  sizes: number[];
  reps: number;
  durationMs: number;
  warmupMs: number;
  latencyMs: number;
  maxForeignCpu: number;
  retries: number;
  idleSettleMs: number;
  idleWindowMs: number;
  tables: TableKey[];
  rpc: boolean;
  quick: boolean;
  pin: boolean;
  json?: string;
  svg?: string;
  latencySvg?: string;
  report?: string;
}

function parseConfig(argv: string[]): Config | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      sizes: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      latency: { type: 'string' },
      reps: { type: 'string' },
      'max-foreign': { type: 'string' },
      only: { type: 'string' },
      pin: { type: 'boolean' },
      json: { type: 'string' },
      svg: { type: 'string' },
      'latency-svg': { type: 'string' },
      report: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return null;
  const quick = values.quick === true;
  const sizes = values.sizes === undefined ? DEFAULT_SIZES : [...new Set(values.sizes.split(',').map(parseSize))].sort((a, b) => a - b);
  const reps = values.reps === undefined ? (quick ? 2 : 5) : Number(values.reps);
  if (!Number.isInteger(reps) || reps < 1) throw new UsageError(`--reps must be a positive integer, got '${values.reps}'`);
  let tables: TableKey[] = [...TABLE_KEYS];
  let rpc = true;
  if (values.only !== undefined) {
    const only = values.only.split(',').map((s) => s.trim());
    rpc = only.includes(RPC_KEY);
    tables = only.filter((s) => s !== RPC_KEY) as TableKey[];
    for (const t of tables) if (!TABLE_KEYS.includes(t)) throw new UsageError(`--only: unknown table '${t}' (one of ${TABLE_KEYS.join(', ')})`);
  }
  return {
    sizes,
    reps,
    durationMs: parseMs('duration', values.duration, quick ? 30 : 400),
    warmupMs: parseMs('warmup', values.warmup, quick ? 10 : 100),
    latencyMs: parseMs('latency', values.latency, quick ? 30 : 600),
    maxForeignCpu: values['max-foreign'] === undefined ? (quick ? Infinity : 20) : parsePercent(values['max-foreign']),
    retries: 3,
    idleSettleMs: quick ? 50 : 250,
    idleWindowMs: quick ? 100 : 1000,
    tables,
    rpc,
    quick,
    pin: values.pin === true,
    json: values.json,
    svg: values.svg,
    latencySvg: values['latency-svg'],
    report: values.report,
  };
}

/** `items` rotated left by `k`: a different order per repetition, so no transport always goes first. */
function rotate<T>(items: T[], k: number): T[] {
  const n = items.length;
  return n === 0 ? [] : items.map((_, i) => items[(i + k) % n]!);
}

class Progress {
  #done = 0;
  constructor(readonly total: number) {}
  step(what: string, result: string): void {
    this.#done++;
    const w = String(this.total).length;
    process.stderr.write(`[${String(this.#done).padStart(w)}/${this.total}] ${what}: ${result}\n`);
  }
}

const TRANSPORT_OF: Partial<Record<TableKey, Transport>> = { shmnet: SHM, 'shmnet-onread': SHM_ONREAD, 'shmnet-lanes': SHM_LANES, tcp: TCP, unix: UNIX, pipe: PIPE, zeromq: ZMQ_PUSH };

/** Opens the exchanger of a round-trip series (series.ts). */
const EXCHANGERS: Record<string, (peer: Peer) => Promise<Exchanger>> = {
  'mc-shm': (peer) => messageExchanger(peer, 'shm'),
  'mc-tcp': (peer) => messageExchanger(peer, 'tcp'),
  'zmq-req': (peer) => zmqExchanger(peer, 64),
  'grpc-unix-64': (peer) => grpcExchanger(peer, 'grpc-unix', 64),
  'h2-unix-64': (peer) => grpcExchanger(peer, 'h2-unix', 64),
  'h2-shm-64': (peer) => grpcExchanger(peer, 'h2-shm', 64),
  'grpc-unix-64k': (peer) => grpcExchanger(peer, 'grpc-unix', 64 << 10),
  'h2-unix-64k': (peer) => grpcExchanger(peer, 'h2-unix', 64 << 10),
  'h2-shm-64k': (peer) => grpcExchanger(peer, 'h2-shm', 64 << 10),
  'task-channel': () => taskExchanger('channel'),
  'task-port': () => taskExchanger('port'),
  'task-piscina': () => taskExchanger('piscina'),
};

/** Libraries that must load in the peer process too (it hosts their far end). */
const PEER_SIDE: ReadonlySet<PeerLibrary> = new Set(['zeromq', 'grpc']);

async function run(cfg: Config, argv: string[]): Promise<Results> {
  const machine = machineInfo();
  const has = (t: TableKey) => cfg.tables.includes(t);
  const results: Results = {
    format: 'shmnet-bench/2',
    machine,
    command: ['shmnet-bench', ...argv].join(' '),
    config: {
      sizes: cfg.sizes,
      latencySize: LATENCY_SIZE,
      concurrency: CONCURRENCY,
      concurrentSize: CONCURRENT_SIZE,
      reps: cfg.reps,
      durationMs: cfg.durationMs,
      warmupMs: cfg.warmupMs,
      latencyMs: cfg.latencyMs,
      maxForeignCpu: cfg.maxForeignCpu,
      retries: cfg.retries,
      tables: cfg.tables,
      quick: cfg.quick,
      pinned: cfg.pin,
      messageBytes: MESSAGE_PAYLOAD_BYTES,
      messageFrameBytes: MESSAGE_FRAME_BYTES,
      workerSizes: has('worker') ? WORKER_SIZES : [],
      workerWarmupMs: cfg.warmupMs,
      workerDurationMs: cfg.durationMs,
      toWorkerSizes: has('to-worker') || has('thread-stream') ? TO_WORKER_SIZES : [],
      memcpyWarmupMs: cfg.quick ? cfg.warmupMs : Math.max(cfg.warmupMs, MEMCPY_MIN_WARMUP_MS),
      memcpySlices: cfg.quick ? 2 : MEMCPY_SLICES,
    },
    skipped: [],
    samples: { oneWay: [], concurrent: [], latency: [], roundTrip: [], idle: [], message: [], worker: [], toWorker: [] },
  };
  const { workerWarmupMs, workerDurationMs, memcpyWarmupMs, memcpySlices } = results.config;

  const peer = await Peer.start();
  const onSignal = () => {
    void peer.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  try {
    /** Whether the rows of `what` that need `library` can run; if not, records why. */
    const reasons = new Map<PeerLibrary, string | null>();
    const usable = async (what: TableKey, library: PeerLibrary | undefined): Promise<boolean> => {
      if (!has(what)) return false;
      if (library === undefined) return true;
      if (!reasons.has(library)) {
        const l = await loadPeer(library);
        reasons.set(library, !l.ok ? l.reason : PEER_SIDE.has(library) ? (peer.addresses.skipped[library] ?? null) : null);
      }
      const reason = reasons.get(library)!;
      if (reason !== null && !results.skipped.some((x: Skipped) => x.what === what)) results.skipped.push({ what, library, reason });
      return reason === null;
    };
    const oneWayKeys: TableKey[] = [];
    for (const s of ONE_WAY_SERIES) if (await usable(s.key, s.library)) oneWayKeys.push(s.key);
    const roundTripSeries = [];
    for (const s of ROUND_TRIP_SERIES) if (await usable(s.select, s.library)) roundTripSeries.push(s);
    const toWorkerKinds: ToWorkerKind[] = [];
    for (const k of TO_WORKER_KINDS) if (await usable(k === 'channel' ? 'to-worker' : 'thread-stream', k === 'channel' ? undefined : 'thread-stream')) toWorkerKinds.push(k);
    const toWorkerSizes = toWorkerKinds.length > 0 ? TO_WORKER_SIZES : [];
    results.config.toWorkerSizes = toWorkerSizes;
    for (const s of results.skipped) process.stderr.write(`shmnet-bench: skipping ${s.what}: ${s.reason}\n`);

    const latencyTransports = has('latency') ? [SHM, SHM_PARK, TCP, UNIX] : [];
    const messageTransports = has('message') ? MESSAGE_TRANSPORTS : [];
    const workerSizes = results.config.workerSizes;
    const total =
      oneWayKeys.length * cfg.sizes.length * cfg.reps +
      (has('concurrent') ? CONCURRENCY.length * cfg.reps : 0) +
      (latencyTransports.length + roundTripSeries.length) * cfg.reps +
      (has('idle') ? 1 : 0) +
      messageTransports.length * cfg.reps +
      workerSizes.length * WORKER_KINDS.length * cfg.reps +
      toWorkerSizes.length * toWorkerKinds.length * cfg.reps;
    process.stderr.write(
      `shmnet-bench: ${cfg.tables.join(', ')}; ${oneWayKeys.length > 0 ? `sizes ${cfg.sizes.map(sizeLabel).join(', ')}; ` : ''}${cfg.reps} reps × ` +
        `${cfg.warmupMs}+${cfg.durationMs} ms; ${total} samples\n`,
    );

    if (cfg.pin) {
      // All threads (-a): V8's helper threads follow the main thread.
      execFileSync('taskset', ['-a', '-pc', '0', String(process.pid)], { stdio: 'ignore' });
      execFileSync('taskset', ['-a', '-pc', '1', String(peer.pid)], { stdio: 'ignore' });
    }
    const progress = new Progress(total);
    const fmt = (s: OneWaySample) => `${s.mbps.toFixed(0)} MB/s`;
    /** Takes one sample, repeating it while other processes were busy meanwhile. */
    const sample = async <T>(what: string, fn: () => T | Promise<T>): Promise<T & SampleMeta> => {
      for (let attempt = 1; ; attempt++) {
        const m = await measureForeign(peer, fn);
        if (m.foreignCpu === null || m.foreignCpu <= cfg.maxForeignCpu || attempt > cfg.retries) {
          return { ...m.value, foreignCpu: m.foreignCpu, attempts: attempt };
        }
        process.stderr.write(`  ${what}: other processes used ${m.foreignCpu.toFixed(0)}% of a core meanwhile; waiting for quiet, then repeating\n`);
        const waited = await waitForQuiet(peer, cfg.maxForeignCpu, QUIET_WAIT_MS);
        if (waited >= QUIET_WAIT_MS) process.stderr.write(`  still busy after ${(waited / 1000).toFixed(0)} s; repeating anyway\n`);
      }
    };
    const oneWaySample = (key: TableKey, size: number) => {
      const t = TRANSPORT_OF[key];
      return t ? oneWay(peer, t, size, 1, cfg.warmupMs, cfg.durationMs) : memcpyOneWay(size, memcpyWarmupMs, cfg.durationMs, memcpySlices);
    };
    const roundTripSample = (key: string) => roundTrips(() => EXCHANGERS[key]!(peer), cfg.warmupMs, cfg.latencyMs);

    // Warm-up pass: every code path once (JIT, first connections), discarded.
    for (const key of oneWayKeys) {
      const t = TRANSPORT_OF[key];
      if (t) await oneWay(peer, t, 64 << 10, 1, cfg.warmupMs, cfg.warmupMs);
      else memcpyOneWay(64 << 10, memcpyWarmupMs, cfg.warmupMs);
    }
    for (const t of latencyTransports) await roundTrip(peer, t, LATENCY_SIZE, cfg.warmupMs, cfg.warmupMs);
    for (const s of roundTripSeries) await roundTrips(() => EXCHANGERS[s.key]!(peer), cfg.warmupMs, cfg.warmupMs);
    for (const t of messageTransports) await messageOneWay(peer, t, cfg.warmupMs, cfg.warmupMs);
    // The worker is fresh in every sample anyway; this warms the main thread's side.
    if (workerSizes.length > 0) for (const kind of WORKER_KINDS) await workerOneWay(kind, 64 << 10, cfg.warmupMs, cfg.warmupMs);
    for (const kind of toWorkerKinds) await toWorkerOneWay(kind, 64 << 10, cfg.warmupMs, cfg.warmupMs);

    for (const size of cfg.sizes) {
      for (let rep = 0; rep < cfg.reps; rep++) {
        for (const key of rotate([...oneWayKeys], rep)) {
          const what = `one-way ${sizeLabel(size).padStart(7)} ${key.padEnd(6)} rep ${rep + 1}/${cfg.reps}`;
          const s = await sample(what, () => oneWaySample(key, size));
          results.samples.oneWay.push({ series: ONE_WAY_SERIES.find((x) => x.key === key)!.series, size, rep, ...s });
          progress.step(what, fmt(s));
        }
      }
      if (oneWayKeys.includes('memcpy')) await checkBaseline(results.samples.oneWay, size, cfg.retries, (what) => sample(what, () => oneWaySample('memcpy', size)));
    }

    if (has('concurrent')) {
      for (let rep = 0; rep < cfg.reps; rep++) {
        for (const conns of rotate(CONCURRENCY, rep)) {
          const what = `concurrent ${String(conns).padStart(2)} × ${sizeLabel(CONCURRENT_SIZE)} rep ${rep + 1}/${cfg.reps}`;
          const s = await sample(what, () => oneWay(peer, SHM, CONCURRENT_SIZE, conns, cfg.warmupMs, cfg.durationMs));
          results.samples.concurrent.push({ conns, size: CONCURRENT_SIZE, rep, ...s });
          progress.step(what, fmt(s));
        }
      }
    }

    type Trip = { kind: 'stream'; t: Transport } | { kind: 'series'; key: string; label: string; size: number };
    const trips: Trip[] = [
      ...latencyTransports.map((t): Trip => ({ kind: 'stream', t })),
      ...roundTripSeries.map((s): Trip => ({ kind: 'series', key: s.key, label: s.label, size: s.size })),
    ];
    for (let rep = 0; rep < cfg.reps && trips.length > 0; rep++) {
      for (const trip of rotate(trips, rep)) {
        const label = trip.kind === 'stream' ? `${LATENCY_SIZE} B ${trip.t.label}` : `${sizeLabel(trip.size)} ${trip.label}`;
        const what = `round trip ${label} rep ${rep + 1}/${cfg.reps}`;
        if (trip.kind === 'stream') {
          const s = await sample(what, () => roundTrip(peer, trip.t, LATENCY_SIZE, cfg.warmupMs, cfg.latencyMs));
          results.samples.latency.push({ series: trip.t.key, size: LATENCY_SIZE, rep, ...s });
          progress.step(what, `median ${s.median.toFixed(1)} µs, p99 ${s.p99.toFixed(1)} µs (${s.roundTrips} trips)`);
        } else {
          const s = await sample(what, () => roundTripSample(trip.key));
          results.samples.roundTrip.push({ series: trip.key, size: trip.size, rep, ...s });
          progress.step(what, `median ${s.median.toFixed(1)} µs, p99 ${s.p99.toFixed(1)} µs (${s.roundTrips} trips)`);
        }
      }
    }

    if (has('idle')) {
      const s = await sample('idle', () => idleCpu(peer, SHM, cfg.idleSettleMs, cfg.idleWindowMs));
      results.samples.idle.push(s);
      progress.step('idle shmnet Conn', `bench ${s.benchCpu.toFixed(2)}%, peer ${s.peerCpu.toFixed(2)}% of a core`);
    }

    for (let rep = 0; rep < cfg.reps && messageTransports.length > 0; rep++) {
      for (const t of rotate(messageTransports, rep)) {
        const what = `message 64 B ${t} rep ${rep + 1}/${cfg.reps}`;
        const s = await sample(what, () => messageOneWay(peer, t, cfg.warmupMs, cfg.durationMs));
        results.samples.message.push({ series: t, rep, ...s });
        progress.step(what, `${Math.round(s.messagesPerSec).toLocaleString('en-US')} messages/s`);
      }
    }

    for (const size of workerSizes) {
      for (let rep = 0; rep < cfg.reps; rep++) {
        for (const kind of rotate([...WORKER_KINDS], rep)) {
          const what = `worker ${sizeLabel(size).padStart(6)} ${kind.padEnd(8)} rep ${rep + 1}/${cfg.reps}`;
          const s = await sample(what, () => workerOneWay(kind, size, workerWarmupMs, workerDurationMs));
          results.samples.worker.push({ kind, size, rep, ...s });
          progress.step(what, `${s.mbps.toFixed(0)} MB/s`);
        }
      }
    }

    for (const size of toWorkerSizes) {
      for (let rep = 0; rep < cfg.reps; rep++) {
        for (const kind of rotate(toWorkerKinds, rep)) {
          const what = `to worker ${sizeLabel(size).padStart(6)} ${kind.padEnd(13)} rep ${rep + 1}/${cfg.reps}`;
          const s = await sample(what, () => toWorkerOneWay(kind, size, workerWarmupMs, workerDurationMs));
          results.samples.toWorker.push({ kind, size, rep, ...s });
          progress.step(what, `${s.mbps.toFixed(0)} MB/s`);
        }
      }
    }
    peer.check();
  } finally {
    process.off('SIGINT', onSignal);
    await peer.stop();
  }
  return results;
}

/**
 * A memory-copy sample slower than a transport's median at the same size
 * is broken: the copy bounds every transport that copies. Such a sample is
 * taken again (up to `retries` times); one that stays below is marked
 * rejected and left out of its row, with the reason.
 */
async function checkBaseline(
  samples: OneWayRecord[],
  size: number,
  retries: number,
  again: (what: string) => Promise<OneWaySample & SampleMeta>,
): Promise<void> {
  const medians = ONE_WAY_SERIES.filter((x) => x.series !== 'memcpy')
    .map((x) => {
      const v = samples.filter((s) => s.series === x.series && s.size === size).map((s) => s.mbps);
      return { label: x.label, median: v.length > 0 ? median(v) : 0 };
    })
    .sort((a, b) => b.median - a.median);
  const fastest = medians[0];
  if (fastest === undefined || fastest.median === 0) return;
  for (const s of samples) {
    if (s.series !== 'memcpy' || s.size !== size || s.mbps >= fastest.median) continue;
    const slow = s.mbps;
    for (let i = 0; i < retries && s.mbps < fastest.median; i++) {
      const what = `one-way ${sizeLabel(size).padStart(7)} memcpy rep ${s.rep + 1} again (${slow.toFixed(0)} MB/s < ${fastest.label} ${fastest.median.toFixed(0)} MB/s)`;
      Object.assign(s, await again(what));
      process.stderr.write(`  ${what}: ${s.mbps.toFixed(0)} MB/s\n`);
    }
    if (s.mbps < fastest.median) s.rejected = `slower than the ${fastest.label} median, ${fastest.median.toFixed(0)} MB/s, after ${retries} repeats`;
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let cfg: Config | null;
  try {
    cfg = parseConfig(argv);
  } catch (err) {
    process.stderr.write(`shmnet-bench: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (cfg === null) {
    process.stdout.write(USAGE);
    return 0;
  }
  const fromReport = cfg.report !== undefined ? (JSON.parse(readFileSync(cfg.report, 'utf8')) as Results & { rpc?: RpcResults | null }) : null;
  const results: Results | null = fromReport ?? (cfg.tables.length > 0 ? await run(cfg, argv) : null);
  if (results !== null) process.stdout.write(markdown(results));
  let rpc: RpcResults | null = fromReport?.rpc ?? null;
  if (cfg.rpc && fromReport === null) {
    const rpcCfg = { reps: cfg.reps, warmupMs: cfg.warmupMs, durationMs: cfg.latencyMs, maxForeignCpu: cfg.maxForeignCpu, retries: cfg.retries };
    rpc = await runRpc(rpcCfg, (line) => process.stderr.write(`${line}\n`));
  }
  if (rpc !== null) process.stdout.write(`\n${rpcMarkdown(rpc)}`);
  if (cfg.json !== undefined && fromReport === null) {
    writeFileSync(cfg.json, JSON.stringify({ ...results, ...(results ? { tables: tablesJson(results) } : null), rpc }, null, 2) + '\n');
    process.stderr.write(`wrote ${cfg.json}\n`);
  }
  if (cfg.svg !== undefined && results !== null) {
    writeFileSync(cfg.svg, throughputSvg(results));
    process.stderr.write(`wrote ${cfg.svg}\n`);
  }
  if (cfg.latencySvg !== undefined && results !== null) {
    writeFileSync(cfg.latencySvg, latencySvg(results));
    process.stderr.write(`wrote ${cfg.latencySvg}\n`);
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`shmnet-bench failed: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  },
);
