/**
 * Many connections to one server (run with `npm run test:scale`):
 *
 *  1. load: --load Conns (default 1,000) from 4 client processes at once,
 *     each echoing --bytes random bytes through rings of --load-ring bytes,
 *     every byte checked (SHA-256);
 *  2. idle: --idle Conns (default 10,000) at the smallest ring size, all
 *     opened at once (a burst at the Unix socket's backlog), then held:
 *     idle CPU of every process (--idle-ring=N for another ring size), server RSS, shared-memory pages in use
 *     (from /proc/self/smaps), descriptors, connect time per Conn, and one
 *     Conn's 64-byte echo latency while the others idle.
 *
 * Prints a table. Exits non-zero if a byte was wrong or a Conn was lost.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Conn } from '../../src/index.js';
import { MIN_CAPACITY } from '../../src/ring/layout.js';
import { regionSize } from '../../src/ring/header.js';

const arg = (name: string, dflt: number) => {
  const a = process.argv.find((s) => s.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : dflt;
};
const PROCS = 4;
const LOAD = arg('load', 1000);
const LOAD_RING = arg('load-ring', 65536);
const BYTES = arg('bytes', 256 * 1024);
const IDLE = arg('idle', 10_000);
const IDLE_MS = arg('idle-ms', 5000);
const IDLE_RING = arg('idle-ring', MIN_CAPACITY);
const PINGS = arg('pings', 2000);

class Child {
  readonly proc: ChildProcess;
  readonly inbox: any[] = [];
  #waiters: Array<() => void> = [];
  constructor() {
    this.proc = fork(new URL('./client.ts', import.meta.url), [], { execArgv: process.execArgv });
    this.proc.on('message', (m) => {
      this.inbox.push(m);
      for (const w of this.#waiters.splice(0)) w();
    });
  }
  async next(event: string): Promise<any> {
    for (;;) {
      const i = this.inbox.findIndex((m) => m.event === event);
      if (i >= 0) return this.inbox.splice(i, 1)[0];
      await new Promise<void>((r) => this.#waiters.push(r));
    }
  }
  ask(cmd: object, event: string): Promise<any> {
    const p = this.next(event);
    this.proc.send(cmd);
    return p;
  }
}

function fds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Shared-memory mappings of this process from smaps: count, mapped kB, resident kB. */
function shmMaps(): { maps: number; sizeKiB: number; rssKiB: number } {
  let maps = 0;
  let sizeKiB = 0;
  let rssKiB = 0;
  let inShm = false;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      inShm = line.includes('memfd:shmnet') || line.includes('/dev/shm/shmnet.');
      if (inShm) maps++;
    } else if (inShm && line.startsWith('Size:')) sizeKiB += Number(line.split(/\s+/)[1]);
    else if (inShm && line.startsWith('Rss:')) rssKiB += Number(line.split(/\s+/)[1]);
  }
  return { maps, sizeKiB, rssKiB };
}

/** Shmem of the whole system (tmpfs and memfd pages), kB: noisy where others use /dev/shm too. */
function systemShmemKiB(): number {
  const m = /^Shmem:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) : NaN;
}

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
/** Sums the per-code error counts the children reported. */
function errorCounts(rs: Array<{ errors: Record<string, number> }>): string {
  const all: Record<string, number> = {};
  for (const r of rs) for (const [k, n] of Object.entries(r.errors)) all[k] = (all[k] ?? 0) + n;
  return Object.keys(all).length === 0 ? '0' : JSON.stringify(all);
}

const rows: Array<[string, string]> = [];
const row = (k: string, v: string) => {
  rows.push([k, v]);
  console.error(`${k}: ${v}`);
};

const dir = mkdtempSync(join(tmpdir(), 'shmnet-scale-'));
const path = join(dir, 's.sock');
let accepted = 0;
const conns = new Set<Conn>();
// The handshake deadline of a burst of thousands is generous on both sides (the clients use 120 s too).
const server = createServer({ ringSize: MIN_CAPACITY, maxRingSize: 1 << 20, handshakeTimeout: 120_000 }, (c) => {
  accepted++;
  conns.add(c);
  c.on('error', () => {});
  c.once('close', () => conns.delete(c));
  c.pipe(c);
});
server.listen({ path, backlog: 511 });
await once(server, 'listening');
const children = Array.from({ length: PROCS }, () => new Child());
await Promise.all(children.map((c) => c.next('ready')));
let failed = false;

// ---- 1. load ------------------------------------------------------------------
{
  const per = Math.ceil(LOAD / PROCS);
  const t0 = performance.now();
  const rs = await Promise.all(children.map((c) => c.ask({ cmd: 'load', path, n: per, bytes: BYTES, ringSize: LOAD_RING }, 'load')));
  const ms = performance.now() - t0;
  const ok = rs.reduce((s, r) => s + r.ok, 0);
  const bad = rs.reduce((s, r) => s + r.bad, 0);
  if (bad > 0 || ok !== per * PROCS) failed = true;
  row('load: Conns at once (4 processes), ring size', `${per * PROCS}, ${LOAD_RING / 1024} KiB per direction`);
  row('load: echoed intact (SHA-256) / corrupt / failed', `${ok} / ${bad} / ${errorCounts(rs)}`);
  row('load: bytes echoed, wall time', `${mib(ok * BYTES * 2)} MiB in ${(ms / 1000).toFixed(1)} s`);
  while (conns.size > 0) await new Promise((r) => setTimeout(r, 20));
}

// ---- 2. idle ------------------------------------------------------------------
{
  const per = Math.ceil(IDLE / PROCS);
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const shmem0 = systemShmemKiB();
  const fds0 = fds();
  const t0 = performance.now();
  const rs = await Promise.all(children.map((c) => c.ask({ cmd: 'idle', path, n: per, ringSize: IDLE_RING }, 'idle')));
  const ms = performance.now() - t0;
  const up = rs.reduce((s, r) => s + r.up, 0);
  if (up !== per * PROCS) failed = true;
  while (conns.size < up) await new Promise((r) => setTimeout(r, 20));
  row('idle: Conns at once (4 processes), ring size', `${up} of ${per * PROCS} (lost: ${errorCounts(rs)}), ${IDLE_RING / 1024} KiB, ${rs[0].transport}/${rs[0].segment}`);
  row('idle: connect time (all at once)', `${(ms / 1000).toFixed(2)} s for all, ${((ms * 1000) / up).toFixed(0)} µs per Conn; median handshake ${Math.max(...rs.map((r) => r.handshakeMs)).toFixed(0)} ms (slowest of the 4 processes)`);
  // Let spins end and everything park, then measure a quiet stretch.
  await new Promise((r) => setTimeout(r, 1000));
  global.gc?.();
  const cpu0 = process.cpuUsage();
  const child0 = await Promise.all(children.map((c) => c.ask({ cmd: 'cpu' }, 'cpu')));
  const w0 = performance.now();
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const wall = performance.now() - w0;
  const cpuServer = cpuMs(process.cpuUsage(cpu0));
  const child1 = await Promise.all(children.map((c) => c.ask({ cmd: 'cpu' }, 'cpu')));
  const cpuClients = child1.reduce((s, r, i) => s + cpuMs(r.usage) - cpuMs(child0[i].usage), 0);
  row('idle: CPU over the quiet stretch', `server ${((cpuServer / wall) * 100).toFixed(2)}% of a core, 4 clients together ${((cpuClients / wall) * 100).toFixed(2)}% (${(wall / 1000).toFixed(1)} s)`);
  const rss = process.memoryUsage().rss;
  const shm = shmMaps();
  row('idle: server RSS', `${mib(rss)} MiB (${mib(rss - rss0)} MiB more than before, ${(((rss - rss0) / up) / 1024).toFixed(1)} KiB per Conn)`);
  row('idle: shared memory (server smaps)', `${shm.maps} mappings, ${(shm.sizeKiB / 1024).toFixed(1)} MiB mapped, ${(shm.rssKiB / 1024).toFixed(1)} MiB resident; ${(regionSize(IDLE_RING) / 1024).toFixed(1)} KiB per Conn reserved`);
  row('idle: system Shmem (/proc/meminfo), reserved by both ends', `${((systemShmemKiB() - shmem0) / 1024).toFixed(1)} MiB more, ${((systemShmemKiB() - shmem0) / up).toFixed(1)} KiB per Conn`);
  row('idle: server descriptors', `${fds()} open (${fds() - fds0} for ${up} Conns)`);
  const p = await children[0]!.ask({ cmd: 'ping', count: PINGS }, 'ping');
  row(`idle: one Conn's 64-byte echo while ${up - 1} idle`, `median ${p.p50.toFixed(0)} µs, p99 ${p.p99.toFixed(0)} µs (${PINGS} round trips)`);
  await Promise.all(children.map((c) => c.ask({ cmd: 'close' }, 'closed')));
}

for (const c of children) c.proc.kill();
server.close();
rmSync(dir, { recursive: true, force: true });
console.log(`\n| ${cpus().length} vCPU, Node ${process.version}, ${new Date().toISOString().slice(0, 10)} | |\n|---|---|`);
for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
if (failed) {
  console.log('\nFAILED: a Conn was lost or a byte was wrong');
  process.exit(1);
}
process.exit(0);
