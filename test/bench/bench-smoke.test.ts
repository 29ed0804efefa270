/**
 * Smoke test of the benchmark CLI: `shmnet-bench --quick` must run every
 * table and every peer library between real processes, finish, and write
 * well-formed JSON and SVG. No timing is asserted: only that every number
 * is there and positive, and that each peer library's rows are either
 * measured or listed as skipped with a reason.
 *
 * It runs the compiled CLI (dist/bench/cli.js), as `npm run bench` does;
 * CI builds before testing. Without a build the test is skipped.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../dist/bench/cli.js', import.meta.url));
const ONE_WAY = ['shmnet', 'shmnet-onread', 'shmnet-lanes', 'tcp', 'unix', 'pipe', 'memcpy'];
/** The sizes the targets name; fewer than the default six keep the test short. */
const SIZES = [1024, 4096, 65536, 1048576];
/** Each peer library: the --only key, the JSON table and the series it adds there. */
const PEERS = [
  { key: 'zeromq', library: 'zeromq', rows: (out: Tables) => [...out.tables.zeromq.map((x) => `one-way ${x.size}`), ...series(out.tables.rpc).filter((s) => s === 'zmq-req')] },
  { key: 'grpc', library: 'grpc', rows: (out: Tables) => series(out.tables.grpc) },
  { key: 'thread-stream', library: 'thread-stream', rows: (out: Tables) => out.tables.toWorker.flatMap((r) => r.cells.filter((c) => c.kind === 'thread-stream').map(() => `to-worker ${r.size}`)) },
  { key: 'piscina', library: 'piscina', rows: (out: Tables) => series(out.tables.tasks).filter((s) => s === 'task-piscina') },
] as const;
const EXPECTED_ROWS: Record<string, number> = { zeromq: SIZES.length + 1, grpc: 6, 'thread-stream': 2, piscina: 1 };
const TRACKER_WORDS = /\bissue\b|#\d+|\btracker\b/i;

interface Row {
  series: string;
  size: number;
  [k: string]: unknown;
}
interface Tables {
  tables: {
    zeromq: Row[];
    rpc: Row[];
    grpc: Row[];
    tasks: Row[];
    toWorker: Array<{ size: number; cells: Array<{ kind: string; mbps: number; vsRef: number | null }> }>;
    skipped: Array<{ what: string; library: string; reason: string }>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

function series(rows: Row[]): string[] {
  return rows.map((x) => x.series);
}

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // Plain node, no TypeScript loader: the CLI and the peer it forks are compiled JS.
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

function positive(t: Test, v: unknown, what: string): void {
  t.ok(typeof v === 'number' && Number.isFinite(v) && v > 0, `${what} is a positive number (${String(v)})`);
}

const skip = existsSync(CLI) ? false : `${CLI} is missing: run \`npm run build\` first`;

t.test('bench --quick runs every table and every peer library, and writes well-formed JSON and SVG', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shmnet-bench-smoke-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const json = join(dir, 'bench.json');
  const svg = join(dir, 'bench.svg');
  const latSvg = join(dir, 'latency.svg');

  const r = await runCli(['--quick', '--reps', '1', '--sizes', '1k,4k,64k,1m', '--json', json, '--svg', svg, '--latency-svg', latSvg]);
  t.equal(r.code, 0, `exit code 0${r.code === 0 ? '' : `; stderr:\n${r.stderr}`}`);
  t.match(r.stderr, /\[\s*1\/\d+\] one-way/, 'progress goes to stderr');
  const headings = [
    '### Summary: one-way throughput',
    '### Summary: the receive paths',
    '### shmnet Conn, receiver on `onread`',
    '### shmnet Conn, zero-copy lanes',
    '### Targets',
    '### shmnet Conn',
    '### TCP Local',
    '### Unix socket',
    '### Pipe',
    '### Memory Copy',
    '### Concurrent shmnet',
    '### Round-trip latency',
    '### Request/response',
    '### Task round trips',
    '### Idle shmnet Conn',
    '### MessageConn, 64-byte objects',
    '### Worker channel vs MessagePort',
  ];
  for (const h of headings) t.ok(r.stdout.includes(h), `stdout has "${h}"`);
  t.ok(r.stdout.indexOf('### Summary') < r.stdout.indexOf('### shmnet Conn'), 'the ratios come before the absolute tables');
  t.match(r.stdout, /\| Size \(Bytes\) \| Operations\/sec \| Throughput \(MB\/s\) \| Latency \(ns\/op\) \|/, "the seed's table format");
  const tables = r.stdout.split('\n').filter((l) => l.startsWith('### ')).length;
  const machineLines = r.stdout.split('\n').filter((l) => l.startsWith('_Measured on ')).length;
  t.equal(machineLines, tables, 'every table is labelled with the machine it was measured on');
  t.notMatch(r.stdout, TRACKER_WORDS, 'the report speaks of the product, not of a tracker');

  const out = JSON.parse(readFileSync(json, 'utf8')) as Tables & Record<string, any>;
  t.equal(out.format, 'shmnet-bench/2');
  for (const k of ['cpuModel', 'os', 'node', 'date']) t.ok(typeof out.machine[k] === 'string' && out.machine[k].length > 0, `machine.${k}`);
  positive(t, out.machine.cores, 'machine.cores');
  t.ok(!Number.isNaN(Date.parse(out.machine.date)), 'machine.date is a date');

  for (const key of ONE_WAY) {
    const rows = out.tables[key] as Row[];
    t.same(
      rows.map((x) => x.size),
      SIZES,
      `${key}: a row per size`,
    );
    for (const row of rows) for (const f of ['opsPerSec', 'mbps', 'nsPerOp', 'mbpsMin', 'mbpsMax', 'cpuPerGB']) positive(t, row[f], `${key} ${row.size} ${f}`);
  }
  t.same(
    (out.tables.concurrent as Array<{ conns: number }>).map((x) => x.conns),
    [1, 2, 4, 8, 16],
    'concurrent: a row per connection count',
  );
  t.same(series(out.tables.latency as Row[]), ['shm', 'shm-park', 'tcp', 'unix'], 'latency: shmnet, shmnet spin:0, TCP, Unix socket');
  for (const row of [...(out.tables.latency as Row[]), ...out.tables.rpc, ...out.tables.grpc, ...out.tables.tasks]) {
    positive(t, row.median, `round trip ${row.series} median`);
    positive(t, row.perSec, `round trip ${row.series} per second`);
    t.ok((row.p99 as number) >= (row.median as number), `round trip ${row.series}: p99 ≥ median`);
  }
  t.same(series(out.tables.rpc).filter((s) => s.startsWith('mc-')), ['mc-shm', 'mc-tcp'], 'request/response: MessageConn over shm and TCP');
  t.same(series(out.tables.tasks).filter((s) => s !== 'task-piscina'), ['task-channel', 'task-port'], 'tasks: worker channel and MessagePort');
  const messages = out.tables.message as Array<{ series: string; frameBytes: number; messagesPerSec: number }>;
  t.same(messages.map((x) => x.series), ['shm', 'tcp', 'shm-records', 'tcp-records'], 'messages: map and records encodings, each over shm and TCP');
  for (const row of messages) positive(t, row.messagesPerSec, `messages ${row.series} per second`);
  const frame = (s: string) => messages.find((x) => x.series === s)?.frameBytes ?? 0;
  t.ok(frame('shm-records') < frame('shm'), `a records frame is smaller than a map frame (${frame('shm-records')} < ${frame('shm')} bytes)`);
  t.equal((out.tables.idle as unknown[]).length, 1, 'idle: one sample');
  for (const row of out.tables.summary as Array<Record<string, { value: number; wide: boolean } | number>>) {
    for (const f of ['shmVsTcp', 'unixVsTcp', 'pipeVsTcp', 'shmVsUnix', 'shmVsMemcpy']) {
      const v = row[f] as { value: number; wide: boolean };
      positive(t, v.value, `summary ${row.size} ${f}`);
      t.type(v.wide, 'boolean', `summary ${row.size} ${f}: spread flag`);
    }
  }
  const targets = out.tables.targets as Array<{ measure: string; met: boolean | null }>;
  t.ok(targets.length > 0, 'targets are listed');
  for (const row of targets) {
    t.type(row.met, 'boolean', `target "${row.measure}" evaluated`);
    t.notMatch(row.measure, TRACKER_WORDS, `target "${row.measure}" is named by what it measures`);
  }
  t.same(
    (out.tables.worker as Array<{ size: number }>).map((x) => x.size),
    [1024, 65536],
    'worker: a row per chunk size',
  );
  for (const row of out.tables.worker as Array<{ size: number; cells: Array<{ kind: string; mbps: number }> }>) {
    for (const kind of ['channel', 'tuned', 'onread', 'lanes', 'clone', 'transfer']) {
      positive(t, row.cells.find((c) => c.kind === kind)?.mbps, `worker ${row.size} ${kind} mbps`);
    }
  }
  t.same(
    out.tables.toWorker.map((x) => x.size),
    [1024, 65536],
    'main thread → worker: a row per chunk size',
  );
  for (const row of out.tables.toWorker) {
    const ch = row.cells.find((c) => c.kind === 'channel');
    positive(t, ch?.mbps, `to-worker ${row.size} channel mbps`);
  }

  // Every peer library: measured (with a positive value in every row), or skipped with a reason.
  for (const p of PEERS) {
    const skipped = out.tables.skipped.find((s) => s.what === p.key);
    const rows = p.rows(out);
    if (skipped) {
      t.equal(rows.length, 0, `${p.key}: skipped, so no rows`);
      t.ok(skipped.reason.length > 0, `${p.key}: skipped with a reason (${skipped.reason})`);
      t.ok(r.stdout.includes(`Skipped: ${p.key} (`), `${p.key}: the report says it was skipped`);
    } else {
      t.equal(rows.length, EXPECTED_ROWS[p.key], `${p.key}: every row measured (${rows.join(', ')})`);
    }
  }
  const peerRows = out.tables.peers as Array<{ peer: string; ratio: { value: number } }>;
  for (const row of peerRows) positive(t, row.ratio.value, `peer summary ${row.peer} ratio`);
  if (!out.tables.skipped.some((s) => s.what === 'zeromq')) t.ok(r.stdout.includes('| shmnet / zeromq |'), 'the summary has a zeromq column');

  // Every sample is kept, with the repetition count asked for (1 here, to keep the test short).
  const oneWaySeries = ONE_WAY.length + (out.tables.zeromq.length > 0 ? 1 : 0);
  t.equal(out.samples.oneWay.length, oneWaySeries * SIZES.length * out.config.reps, 'every one-way sample kept');
  for (const s of out.samples.oneWay) positive(t, s.bytes, `sample ${s.series} ${s.size} bytes`);
  for (const s of out.samples.oneWay.filter((x: { series: string; rejected?: string }) => x.series === 'memcpy' && x.rejected === undefined)) {
    const fastest = Math.max(...ONE_WAY.filter((k) => k !== 'memcpy').map((k) => (out.tables[k] as Row[]).find((x) => x.size === s.size)!.mbps as number));
    t.ok(s.mbps >= fastest, `memcpy ${s.size}: a kept baseline sample (${s.mbps.toFixed(0)} MB/s) is not slower than a transport it bounds (${fastest.toFixed(0)})`);
  }

  const chart = readFileSync(svg, 'utf8');
  t.match(chart, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, 'SVG root');
  t.ok(chart.trimEnd().endsWith('</svg>'), 'SVG is closed');
  t.equal((chart.match(/<polyline /g) ?? []).length, oneWaySeries, 'a line per transport and peer library');
  const lat = readFileSync(latSvg, 'utf8');
  t.ok(lat.startsWith('<svg ') && lat.trimEnd().endsWith('</svg>'), 'latency SVG is well formed');
  const bars = (lat.match(/<rect [^>]*><title>/g) ?? []).length;
  const trips = (out.tables.latency as Row[]).length + out.tables.rpc.length + out.tables.grpc.length + out.tables.tasks.length;
  t.equal(bars, 2 * trips, 'latency chart: a median and a p99 bar per round-trip row');
});

t.test('a peer library that does not load is skipped with its reason, not a crash', { skip }, async (t) => {
  const r = await runCli(['--quick', '--only', 'shmnet,zeromq,grpc,thread-stream,piscina', '--sizes', '1k'], {
    SHMNET_BENCH_DISABLE: 'zeromq,grpc,thread-stream,piscina',
  });
  t.equal(r.code, 0, `exit code 0${r.code === 0 ? '' : `; stderr:\n${r.stderr}`}`);
  for (const p of PEERS) {
    t.match(r.stdout, new RegExp(`Skipped: ${p.key} \\(.*disabled by SHMNET_BENCH_DISABLE\\)`), `${p.key}: skipped, with the reason`);
    t.match(r.stderr, new RegExp(`skipping ${p.key}: `), `${p.key}: the skip is on stderr too`);
  }
  t.ok(r.stdout.includes('### shmnet Conn'), 'the rows that can run still run');
  t.notOk(r.stdout.includes('### zeromq'), 'no zeromq table');
});

t.test('bench rejects bad options with usage and exit code 2', { skip }, async (t) => {
  const r = await runCli(['--only', 'nonsense']);
  t.equal(r.code, 2);
  t.match(r.stderr, /unknown table 'nonsense'/);
  t.match(r.stderr, /usage: shmnet-bench/);
});
