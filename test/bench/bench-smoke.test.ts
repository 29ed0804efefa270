/**
 * Smoke test of the benchmark CLI: `shmnet-bench --quick` must run every
 * table between real processes, finish, and write well-formed JSON and
 * SVG. No timing is asserted: only that every number is there and
 * positive.
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
const ONE_WAY = ['shmnet', 'tcp', 'unix', 'pipe', 'memcpy'];
const SIZES = [1024, 4096, 16384, 65536, 262144, 1048576];

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // Plain node, no TypeScript loader: the CLI and the peer it forks are compiled JS.
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

function positive(t: Test, v: unknown, what: string): void {
  t.ok(typeof v === 'number' && Number.isFinite(v) && v > 0, `${what} is a positive number (${String(v)})`);
}

t.test('bench --quick completes and writes well-formed JSON and SVG', { skip: existsSync(CLI) ? false : `${CLI} is missing: run \`npm run build\` first` }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shmnet-bench-smoke-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const json = join(dir, 'bench.json');
  const svg = join(dir, 'bench.svg');

  const r = await runCli(['--quick', '--json', json, '--svg', svg]);
  t.equal(r.code, 0, `exit code 0${r.code === 0 ? '' : `; stderr:\n${r.stderr}`}`);
  t.match(r.stderr, /\[\s*1\/\d+\] one-way/, 'progress goes to stderr');
  for (const h of ['### shmnet Conn', '### TCP Local', '### Unix socket', '### Pipe', '### Memory Copy', '### Concurrent shmnet', '### Round-trip latency', '### Summary', '### Targets']) {
    t.ok(r.stdout.includes(h), `stdout has "${h}"`);
  }
  t.match(r.stdout, /\| Size \(Bytes\) \| Operations\/sec \| Throughput \(MB\/s\) \| Latency \(ns\/op\) \|/, "the seed's table format");

  const out = JSON.parse(readFileSync(json, 'utf8'));
  t.equal(out.format, 'shmnet-bench/1');
  for (const k of ['cpuModel', 'os', 'node', 'date']) t.ok(typeof out.machine[k] === 'string' && out.machine[k].length > 0, `machine.${k}`);
  positive(t, out.machine.cores, 'machine.cores');
  t.ok(!Number.isNaN(Date.parse(out.machine.date)), 'machine.date is a date');

  for (const key of ONE_WAY) {
    const rows = out.tables[key];
    t.same(
      rows.map((x: { size: number }) => x.size),
      SIZES,
      `${key}: a row per size`,
    );
    for (const row of rows) for (const f of ['opsPerSec', 'mbps', 'nsPerOp', 'mbpsMin', 'mbpsMax']) positive(t, row[f], `${key} ${row.size} ${f}`);
  }
  t.same(
    out.tables.concurrent.map((x: { conns: number }) => x.conns),
    [1, 2, 4, 8, 16],
    'concurrent: a row per connection count',
  );
  for (const row of out.tables.concurrent) positive(t, row.mbps, `concurrent ${row.conns} mbps`);
  t.same(
    out.tables.latency.map((x: { series: string }) => x.series),
    ['shm', 'shm-park', 'tcp', 'unix'],
    'latency: shmnet, shmnet spin:0, TCP, Unix socket',
  );
  for (const row of out.tables.latency) {
    positive(t, row.median, `latency ${row.series} median`);
    positive(t, row.p99, `latency ${row.series} p99`);
    t.ok(row.p99 >= row.median, `latency ${row.series}: p99 ≥ median`);
  }
  t.equal(out.tables.idle.length, 1, 'idle: one sample');
  for (const row of out.tables.summary) {
    for (const f of ['shmVsTcp', 'unixVsTcp', 'pipeVsTcp', 'shmVsUnix', 'shmVsMemcpy']) positive(t, row[f], `summary ${row.size} ${f}`);
  }
  t.equal(out.tables.targets.length, 10, 'a row per target');
  for (const row of out.tables.targets) t.type(row.met, 'boolean', `target "${row.measure}" evaluated`);

  // Every sample is kept, with the repetition count asked for (--quick: 2).
  t.equal(out.samples.oneWay.length, ONE_WAY.length * SIZES.length * out.config.reps, 'every one-way sample kept');
  for (const s of out.samples.oneWay) positive(t, s.bytes, `sample ${s.series} ${s.size} bytes`);

  const chart = readFileSync(svg, 'utf8');
  t.match(chart, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, 'SVG root');
  t.ok(chart.trimEnd().endsWith('</svg>'), 'SVG is closed');
  t.equal((chart.match(/<polyline /g) ?? []).length, ONE_WAY.length, 'a line per transport');
});

t.test('bench --quick --only message,worker prints both tables with numbers', { skip: existsSync(CLI) ? false : 'not built' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shmnet-bench-smoke-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const json = join(dir, 'bench.json');

  const r = await runCli(['--quick', '--only', 'message,worker', '--json', json]);
  t.equal(r.code, 0, `exit code 0${r.code === 0 ? '' : `; stderr:\n${r.stderr}`}`);
  t.match(r.stderr, /\[\s*1\/\d+\] message 64 B/, 'progress goes to stderr');
  t.match(r.stdout, /### MessageConn, 64-byte objects.*message mode target ≥ 1,000,000 messages\/s \(issue 6\)/, 'message table with its target');
  t.match(
    r.stdout,
    /### Worker channel vs MessagePort.*worker channel target ≥ 10× MessagePort clone at 1 KiB, ≥ 2× at 64 KiB \(issue 6\)/,
    'worker table with its target',
  );
  t.notOk(r.stdout.includes('### shmnet Conn'), 'no other table');
  const num = String.raw`[\d,]+(?:\.\d+)?`;
  for (const label of ['shared memory', "TCP fallback \\(`transport: 'tcp'`\\)"]) {
    t.match(r.stdout, new RegExp(String.raw`\| ${label} \| ${num} \| ${num} \| ${num} \| ${num}–${num} \| ${num}× \|`), `message row "${label}" is numeric`);
  }
  for (const size of ['1 KiB', '64 KiB']) {
    const cell = String.raw`${num} \(${num}×\)`;
    t.match(r.stdout, new RegExp(String.raw`\| ${size} \| ${cell} \| ${cell} \| ${cell} \| ${cell} \|`), `worker row ${size} is numeric`);
  }

  const out = JSON.parse(readFileSync(json, 'utf8'));
  const reps = out.config.reps;
  t.same(
    out.tables.message.map((x: { series: string }) => x.series),
    ['shm', 'tcp'],
    'message: shm and the TCP fallback',
  );
  for (const row of out.tables.message) for (const f of ['messagesPerSec', 'mbps', 'nsPerMessage', 'vsTcp']) positive(t, row[f], `message ${row.series} ${f}`);
  t.equal(out.samples.message.length, 2 * reps, 'every message sample kept');
  for (const s of out.samples.message) {
    positive(t, s.messages, `message sample ${s.series} messages`);
    t.ok(s.sent >= s.messages, `message sample ${s.series}: sent ≥ counted in the window`);
  }
  t.same(
    out.tables.worker.map((x: { size: number }) => x.size),
    [1024, 65536],
    'worker: a row per chunk size',
  );
  for (const row of out.tables.worker) {
    t.same(
      row.cells.map((c: { kind: string }) => c.kind),
      ['channel', 'tuned', 'clone', 'transfer'],
      `worker ${row.size}: a cell per kind`,
    );
    for (const c of row.cells) for (const f of ['mbps', 'mbpsMin', 'mbpsMax', 'vsClone']) positive(t, c[f], `worker ${row.size} ${c.kind} ${f}`);
  }
  t.equal(out.samples.worker.length, 2 * 4 * reps, 'every worker sample kept');
  for (const s of out.samples.worker) t.equal(s.chunks * s.size >= s.bytes, true, `worker sample ${s.kind} ${s.size}: bytes in the window ≤ bytes written`);
});

t.test('bench rejects bad options with usage and exit code 2', { skip: existsSync(CLI) ? false : 'not built' }, async (t) => {
  const r = await runCli(['--only', 'nonsense']);
  t.equal(r.code, 2);
  t.match(r.stderr, /unknown table 'nonsense'/);
  t.match(r.stderr, /usage: shmnet-bench/);
});
