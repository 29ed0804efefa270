/**
 * The stress run behind `npm run test:stress` (launched by run.mjs with
 * --expose-gc and the TypeScript loader). Three phases, then the figures:
 *
 *  1. cycles: N (default 1,000) connect → transfer → close cycles with both
 *     ends in this process; open fds, /dev/shm names and mapped shmnet
 *     regions must return to their starting counts, RSS growth is reported;
 *  2. concurrent: C (default 200) connections open at once from 4 client
 *     processes, each echoing 1 MiB, SHA-256 checked on both ends;
 *  3. soak: for D seconds (default 180) a randomized mix of transfers in
 *     this process and in client processes — echo, server-first half-close,
 *     client destroy mid-transfer — while client processes are SIGKILLed at
 *     random and child servers are SIGKILLed mid-transfer (and at MAPINFO,
 *     leaving a name for the sweep). Every byte is checked; every error is
 *     either expected for what happened (a killed or destroying peer) or
 *     counted as unexpected.
 *
 * Options: --duration=SECONDS --cycles=N --concurrent=N --seed=N --json=FILE
 * Exit status 0 only if nothing was corrupt, nothing hung, no error was
 * unexpected and every resource came back.
 */
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createServer, connect, sweepStale, codes, type Conn, type Server } from '../../src/index.js';
import { forkFixture } from '../helpers/peer.js';
import { fdCount, gc, Inbox, mappedRegions, prng, rss, settleMappings, shmNames, waitFor } from '../fixtures/reliability-lib.js';
import { runTransfer, serveConn, type Mode, type TransferResult, type TransferSpec } from '../fixtures/reliability-soak-protocol.js';

// ---- options ----------------------------------------------------------------------

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k!, v ?? 'true'];
  }),
);
const DURATION_S = Number(args.get('duration') ?? 180);
const CYCLES = Number(args.get('cycles') ?? 1000);
const CONCURRENT = Number(args.get('concurrent') ?? 200);
const SEED = Number(args.get('seed') ?? Date.now() % 2 ** 31);
const JSON_OUT = args.get('json');
const WORKERS = 4;
const rand = prng(SEED);

const log = (...a: unknown[]) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** A size between 1 byte and `max`, log-uniform. */
function size(max: number): number {
  return Math.max(1, Math.floor(2 ** (rand() * Math.log2(max))));
}

// ---- bookkeeping ------------------------------------------------------------------

const figures = {
  seed: SEED,
  node: process.version,
  cycles: {} as Record<string, unknown>,
  concurrent: {} as Record<string, unknown>,
  soak: {} as Record<string, unknown>,
  resources: {} as Record<string, unknown>,
  failures: [] as string[],
};

class Tally {
  readonly map = new Map<string, number>();
  add(k: string, n = 1): void {
    this.map.set(k, (this.map.get(k) ?? 0) + n);
  }
  get(k: string): number {
    return this.map.get(k) ?? 0;
  }
  obj(): Record<string, number> {
    return Object.fromEntries([...this.map].sort());
  }
}

const actions = new Tally();
const expectedErrors = new Tally();
const unexpectedErrors = new Tally();
let transfers = 0;
let bytesMoved = 0;
let corrupt = 0;
let serverChecked = 0;
let hangs = 0;
const killLatency: number[] = [];
const serverKillLatency: number[] = [];
let namesSwept = 0;
let rssPeak = 0;
const rssTimer = setInterval(() => (rssPeak = Math.max(rssPeak, rss())), 250);
rssTimer.unref();

function fail(msg: string): void {
  figures.failures.push(msg);
  log(`FAIL: ${msg}`);
}

// ---- the soak server ----------------------------------------------------------------

/** Client kills so far per local address (a worker slot), and when the last one happened. */
const killsByAddr = new Map<string, number>();
const lastKillAtByAddr = new Map<string, number>();
let lastKillAt = -Infinity;

interface Meta {
  addr: string;
  /** killsByAddr for this address when the Conn was accepted. */
  kills: number;
  acceptedAt: number;
  mode?: Mode;
  /** Its peer was killed or destroys on purpose: an error is expected. */
  expectError: boolean;
}
const serverConns = new Map<Conn, Meta>();

async function soakServer(): Promise<{ server: Server; port: number }> {
  const server = createServer({ ringSize: 256 * 1024, allowHalfOpen: true }, (conn) => {
    const addr = conn.remoteAddress ?? '?';
    const meta: Meta = { addr, kills: killsByAddr.get(addr) ?? 0, acceptedAt: performance.now(), expectError: false };
    serverConns.set(conn, meta);
    conn.on('error', (e: any) => {
      const code = e.code ?? 'uncoded';
      // A client killed since this Conn was accepted, or just before (its
      // ACK was on the way when it died), explains it.
      const killed =
        meta.expectError || (killsByAddr.get(addr) ?? 0) !== meta.kills || meta.acceptedAt - (lastKillAtByAddr.get(addr) ?? -Infinity) < 2000;
      if (killed || meta.mode === 'D') expectedErrors.add(`server:${code}`);
      else unexpectedErrors.add(`server:${code}`);
    });
    conn.on('close', () => serverConns.delete(conn));
    serveConn(conn, {
      spec: (s) => (meta.mode = s.mode),
      checked: (ok) => {
        serverChecked++;
        if (!ok) {
          corrupt++;
          fail('the server received a corrupt upstream');
        }
      },
      bytes: () => {},
    });
  });
  // The socket of a failed handshake no longer knows its peer's address: a
  // PEER_GONE within 2 s of a client kill is taken to be that client's.
  server.on('handshakeError', (e: any) =>
    (e.code === codes.PEER_GONE && performance.now() - lastKillAt < 2000 ? expectedErrors : unexpectedErrors).add(`server-handshake:${e.code}`),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

function randomSpec(max = 4 << 20): TransferSpec {
  const r = rand();
  const mode: Mode = r < 0.55 ? 'E' : r < 0.85 ? 'S' : 'D';
  return { mode, seed: Math.floor(rand() * 2 ** 32), up: size(max), down: size(max) };
}

function account(kind: string, r: TransferResult, expectError: boolean): void {
  actions.add(kind);
  transfers++;
  bytesMoved += r.bytes;
  if (r.corrupt) {
    corrupt++;
    fail(`${kind}: corrupt transfer`);
  }
  if (r.code !== undefined) (expectError ? expectedErrors : unexpectedErrors).add(`client:${r.code}`);
  if (!r.ok && r.code === undefined && !r.corrupt) unexpectedErrors.add('client:incomplete');
}

/** Bounds any action: past `ms` it counts as a hang. */
async function bounded<T>(what: string, p: Promise<T>, ms = 60_000): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  const v = await Promise.race([p, timeout]);
  clearTimeout(timer);
  if (v === undefined) {
    hangs++;
    fail(`${what} did not finish within ${ms} ms`);
  }
  return v;
}

// ---- phase 1: cycles ------------------------------------------------------------------

async function phaseCycles(port: number): Promise<void> {
  log(`phase 1: ${CYCLES} connect → transfer → close cycles (both ends in this process)`);
  const cycle = async () => {
    const c = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const r = await runTransfer(c, { mode: 'E', seed: Math.floor(rand() * 2 ** 32), up: size(256 * 1024), down: 0 });
    account('cycle', r, false);
    if (!r.ok || r.transport !== 'shm') fail(`cycle: ok=${r.ok} transport=${r.transport}`);
  };
  for (let i = 0; i < 5; i++) await cycle(); // warm-up
  await waitFor(() => serverConns.size === 0);
  await settleMappings(0);
  gc();
  const before = { fds: fdCount(), shm: shmNames(process.pid).length, maps: mappedRegions(), rss: rss() };
  const t0 = performance.now();
  let mapsPeak = 0;
  for (let i = 0; i < CYCLES; i++) {
    await cycle();
    if (i % 50 === 0) mapsPeak = Math.max(mapsPeak, mappedRegions());
  }
  const ms = performance.now() - t0;
  await waitFor(() => serverConns.size === 0, 5000);
  const mapsBeforeGc = mappedRegions();
  const maps = await settleMappings(before.maps, 10_000);
  await waitFor(() => fdCount() <= before.fds, 5000);
  gc();
  const after = { fds: fdCount(), shm: shmNames(process.pid).length, maps, rss: rss() };
  figures.cycles = { cycles: CYCLES, ms: Math.round(ms), before, after, mapsBeforeGc, mapsPeak, rssGrowth: after.rss - before.rss };
  log(`  ${CYCLES} cycles in ${(ms / 1000).toFixed(1)} s; fds ${before.fds} → ${after.fds}; names ${before.shm} → ${after.shm}; mapped ${before.maps} → ${mapsBeforeGc} before gc → ${maps}; RSS ${mib(before.rss)} → ${mib(after.rss)}`);
  if (after.fds > before.fds) fail(`cycles: fds ${before.fds} → ${after.fds}`);
  if (after.shm !== 0) fail(`cycles: ${after.shm} names left`);
  if (maps !== before.maps) fail(`cycles: mapped regions ${before.maps} → ${maps}`);
  if (after.rss - before.rss > 128 * 2 ** 20) fail(`cycles: RSS grew by ${mib(after.rss - before.rss)}`);
}

// ---- phase 2: concurrent ------------------------------------------------------------

async function phaseConcurrent(): Promise<void> {
  log(`phase 2: ${CONCURRENT} concurrent connections from ${WORKERS} processes, 1 MiB each, SHA-256 both ends`);
  const received = new Map<string, string>();
  let open = 0;
  let peak = 0;
  const server = createServer({ allowHalfOpen: true }, (conn) => {
    open++;
    peak = Math.max(peak, open);
    const h = createHash('sha256');
    const key = `${conn.remoteAddress}:${conn.remotePort}`;
    conn.on('data', (d: Buffer) => h.update(d));
    conn.on('end', () => received.set(key, h.digest('hex')));
    conn.on('error', (e: any) => unexpectedErrors.add(`concurrent-server:${e.code}`));
    conn.on('close', () => open--);
    conn.pipe(conn);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const per = Math.ceil(CONCURRENT / WORKERS);
  const kids = Array.from({ length: WORKERS }, (_, i) =>
    new Inbox(
      forkFixture('reliability-load.ts', [
        JSON.stringify({ address: { port, host: '127.0.0.1' }, connections: Math.min(per, CONCURRENT - i * per), bytes: 1 << 20, localAddress: `127.0.0.${100 + i}`, barrier: true }),
      ]),
    ),
  );
  await Promise.all(kids.map((k) => k.event('connected')));
  const openAtOnce = open;
  const t0 = performance.now();
  for (const k of kids) k.child.send({ cmd: 'go' });
  const reports = await Promise.all(kids.map((k) => k.event('done')));
  const ms = performance.now() - t0;
  let ok = 0;
  let shm = 0;
  let bytes = 0;
  reports.forEach((rep, i) => {
    for (const r of rep.results) {
      const serverSaw = received.get(`127.0.0.${100 + i}:${r.port}`);
      if (r.code === undefined && r.echoed === r.sent && r.bytes === 1 << 20 && serverSaw === r.sent) ok++;
      else fail(`concurrent: connection ${r.port} from worker ${i}: ${r.code ?? 'mismatch'}`);
      if (r.transport === 'shm') shm++;
      bytes += 2 * r.bytes;
    }
  });
  await Promise.all(kids.map((k) => k.exited()));
  await waitFor(() => open === 0, 5000);
  server.close();
  transfers += ok;
  bytesMoved += bytes;
  figures.concurrent = { connections: CONCURRENT, openAtOnce, peak, intact: ok, overShm: shm, bytes, ms: Math.round(ms) };
  log(`  ${ok}/${CONCURRENT} intact (${shm} over shm), ${openAtOnce} open at once, ${mib(bytes)} in ${(ms / 1000).toFixed(1)} s`);
  if (ok !== CONCURRENT) fail(`concurrent: ${CONCURRENT - ok} connections failed`);
  if (openAtOnce !== CONCURRENT) fail(`concurrent: only ${openAtOnce} were open at once`);
}

// ---- phase 3: soak ----------------------------------------------------------------------

interface Worker {
  slot: number;
  addr: string;
  inbox: Inbox | null;
  pending: Map<number, (r: TransferResult | null) => void>;
  generation: number;
}

async function phaseSoak(port: number): Promise<void> {
  log(`phase 3: randomized soak for ${DURATION_S} s (seed ${SEED})`);
  const deadline = Date.now() + DURATION_S * 1000;
  const running = () => Date.now() < deadline;
  let nextId = 1;
  const children = new Set<ChildProcess>();

  const workers: Worker[] = Array.from({ length: WORKERS }, (_, slot) => ({
    slot,
    addr: `127.0.0.${10 + slot}`,
    inbox: null,
    pending: new Map(),
    generation: 0,
  }));
  async function start(w: Worker): Promise<void> {
    const child = forkFixture('reliability-soak-worker.ts', [JSON.stringify({ address: { port, host: '127.0.0.1' }, localAddress: w.addr })]);
    children.add(child);
    const inbox = new Inbox(child);
    child.on('message', (m: any) => {
      if (m?.event !== 'result') return;
      const done = w.pending.get(m.id);
      w.pending.delete(m.id);
      done?.(m as TransferResult);
    });
    child.once('exit', () => {
      children.delete(child);
      for (const done of w.pending.values()) done(null);
      w.pending.clear();
      if (w.inbox === inbox) w.inbox = null;
    });
    await inbox.event('started');
    w.inbox = inbox;
    w.generation++;
  }
  await Promise.all(workers.map(start));

  /** In this process: one transfer of a random kind. */
  async function localLane(): Promise<void> {
    while (running()) {
      const spec = randomSpec();
      const c = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      const r = await bounded(`local ${spec.mode} transfer`, runTransfer(c, spec));
      if (r === undefined) c.destroy();
      else account(`local-${spec.mode}`, r, spec.mode === 'D');
    }
  }

  /** In a client process: one transfer; the process may be killed under it. */
  async function workerLane(): Promise<void> {
    while (running()) {
      const live = workers.filter((w) => w.inbox !== null);
      if (live.length === 0) {
        await sleep(50);
        continue;
      }
      const w = live[Math.floor(rand() * live.length)]!;
      const spec = randomSpec();
      const id = nextId++;
      const p = new Promise<TransferResult | null>((resolve) => w.pending.set(id, resolve));
      w.inbox!.child.send({ cmd: 'run', id, spec });
      const r = await bounded(`worker ${spec.mode} transfer`, p, 90_000);
      if (r === null) actions.add('worker-transfer-killed');
      else if (r !== undefined) account(`worker-${spec.mode}`, r, spec.mode === 'D');
    }
  }

  /** SIGKILLs a busy client process now and then; its server-side Conns must all close within 1 s. */
  async function killLane(): Promise<void> {
    while (running()) {
      await sleep(1000 + rand() * 3000);
      // Prefer a client with an established connection: that is the case to time.
      const live = workers.filter((w) => w.inbox !== null && w.pending.size > 0);
      const established = live.filter((w) => [...serverConns.values()].some((m) => m.addr === w.addr));
      const busy = established.length > 0 ? established : live;
      if (busy.length === 0) continue;
      const w = busy[Math.floor(rand() * busy.length)]!;
      const victims = [...serverConns].filter(([, m]) => m.addr === w.addr);
      for (const [, m] of victims) m.expectError = true;
      const t0 = performance.now();
      killsByAddr.set(w.addr, (killsByAddr.get(w.addr) ?? 0) + 1);
      lastKillAtByAddr.set(w.addr, t0);
      lastKillAt = t0;
      w.inbox!.kill('SIGKILL');
      w.inbox = null;
      const closed = await waitFor(() => victims.every(([c]) => c.closed), 5000);
      const ms = performance.now() - t0;
      actions.add('kill-client');
      if (victims.length > 0) killLatency.push(ms);
      if (!closed) {
        hangs++;
        fail(`killed client: ${victims.filter(([c]) => !c.closed).length} server Conns still open after 5 s`);
      } else if (ms > 1000) fail(`killed client: the server took ${ms.toFixed(0)} ms to notice`);
      if (running()) await start(w);
    }
  }

  /** Now and then a child server is SIGKILLed under a client in this process. */
  async function serverKillLane(): Promise<void> {
    let n = 0;
    while (running()) {
      await sleep(2000 + rand() * 6000);
      if (!running()) break;
      const atMapinfo = n++ % 3 === 2;
      const path = join(tmpdir(), `shmnet-stress-${process.pid}-${n}.sock`);
      const child = atMapinfo
        ? forkFixture('hostile-raw.ts', [JSON.stringify({ role: 'server', stage: 'after-mapinfo', address: path })])
        : forkFixture('reliability-peer.ts', [JSON.stringify({ role: 'server', behaviour: 'source', address: path, options: { ringSize: 65536 } })]);
      children.add(child);
      child.once('exit', () => children.delete(child));
      const inbox = new Inbox(child);
      await inbox.event('listening');
      const conn = connect({ path });
      const err = new Promise<{ code: string; at: number }>((resolve) => conn.once('error', (e: any) => resolve({ code: e.code, at: performance.now() })));
      await once(conn, 'connect').catch(() => {});
      if (atMapinfo) await inbox.event('stage');
      else {
        let got = 0;
        conn.on('data', (d: Buffer) => (got += d.length));
        await waitFor(() => got > 1 << 20, 10_000);
      }
      const t0 = performance.now();
      inbox.kill('SIGKILL');
      const e = await bounded('client of a killed server', err, 5000);
      actions.add(atMapinfo ? 'kill-server-at-mapinfo' : 'kill-server-mid-transfer');
      if (e !== undefined) {
        serverKillLatency.push(e.at - t0);
        (e.code === codes.PEER_GONE ? expectedErrors : unexpectedErrors).add(`client-of-killed-server:${e.code}`);
        if (e.at - t0 > 1000) fail(`killed server: the client took ${(e.at - t0).toFixed(0)} ms to notice`);
      }
      await inbox.exited();
      const left = shmNames(child.pid!);
      const swept = sweepStale().filter((nm) => nm.startsWith(`/shmnet.${child.pid!.toString(36)}.`));
      namesSwept += swept.length;
      if (shmNames(child.pid!).length > 0) fail(`killed server ${child.pid}: names left after the sweep`);
      if (atMapinfo && left.length === 0) fail('a server killed at MAPINFO left no name (the test did not exercise the sweep)');
    }
  }

  const t0 = performance.now();
  const progress = setInterval(
    () => log(`  … ${transfers} transfers, ${mib(bytesMoved)}, ${actions.get('kill-client')} client kills, ${serverConns.size} open, RSS ${mib(rss())}`),
    15_000,
  );
  await Promise.all([
    ...Array.from({ length: 3 }, localLane),
    ...Array.from({ length: 6 }, workerLane),
    killLane(),
    serverKillLane(),
  ]);
  clearInterval(progress);
  for (const w of workers) w.inbox?.child.disconnect();
  for (const c of children) c.kill('SIGKILL');
  await waitFor(() => children.size === 0, 10_000);
  figures.soak = { seconds: Math.round((performance.now() - t0) / 1000) };
}

// ---- run ------------------------------------------------------------------------------

function pct(a: number[], p: number): number {
  if (a.length === 0) return 0;
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function main(): Promise<void> {
  const globalBefore = shmNames().length;
  const { server, port } = await soakServer();
  const rssStart = rss();
  await phaseCycles(port);
  // The start line of the whole run: after the warm-up of phase 1.
  await settleMappings(0);
  gc();
  const start = { fds: fdCount(), shm: shmNames(process.pid).length, maps: mappedRegions(), rss: rss() };
  await phaseConcurrent();
  await phaseSoak(port);
  // Measured with the server still listening, as the start line was.
  await waitFor(() => serverConns.size === 0, 10_000);
  const maps = await settleMappings(start.maps, 10_000);
  await waitFor(() => fdCount() <= start.fds, 10_000);
  gc();
  const end = { fds: fdCount(), shm: shmNames(process.pid).length, maps, rss: rss() };
  server.close();
  await once(server, 'close').catch(() => {});
  const globalAfter = shmNames().length;
  figures.resources = { start, end, rssAtLaunch: rssStart, rssPeak, globalShmnetNames: { before: globalBefore, after: globalAfter } };
  Object.assign(figures.soak, {
    transfers,
    bytesMoved,
    actions: actions.obj(),
    serverCheckedUpstreams: serverChecked,
    corrupt,
    hangs,
    expectedErrors: expectedErrors.obj(),
    unexpectedErrors: unexpectedErrors.obj(),
    clientKills: killLatency.length,
    clientKillNoticedMs: { p50: Math.round(pct(killLatency, 50)), max: Math.round(pct(killLatency, 100)) },
    serverKills: serverKillLatency.length,
    serverKillNoticedMs: { p50: Math.round(pct(serverKillLatency, 50)), max: Math.round(pct(serverKillLatency, 100)) },
    namesSwept,
  });
  if (end.fds > start.fds) fail(`fds ${start.fds} → ${end.fds}`);
  if (end.shm !== 0) fail(`${end.shm} of our names left in /dev/shm`);
  if (maps !== start.maps) fail(`mapped regions ${start.maps} → ${maps}`);
  if (end.rss - start.rss > 256 * 2 ** 20) fail(`RSS grew by ${mib(end.rss - start.rss)}`);
  if (unexpectedErrors.map.size > 0) fail(`unexpected errors: ${JSON.stringify(unexpectedErrors.obj())}`);

  const s = figures.soak as any;
  const c = figures.cycles as any;
  const k = figures.concurrent as any;
  console.log(`
== shmnet stress figures (node ${process.version}, seed ${SEED}, ${new Date().toISOString().slice(0, 10)}) ==
cycles       ${c.cycles} connect → transfer → close in ${(c.ms / 1000).toFixed(1)} s
             fds ${c.before.fds} → ${c.after.fds} | /dev/shm names ${c.before.shm} → ${c.after.shm} | mapped regions ${c.before.maps} → ${c.mapsBeforeGc} (before gc) → ${c.after.maps} | RSS ${mib(c.before.rss)} → ${mib(c.after.rss)}
concurrent   ${k.intact}/${k.connections} intact (SHA-256 both ends), ${k.openAtOnce} open at once, ${k.overShm} over shm, ${mib(k.bytes)} in ${(k.ms / 1000).toFixed(1)} s
soak         ${s.seconds} s: ${transfers} transfers in all, ${mib(bytesMoved)} moved, ${serverChecked} upstreams checked by the server
             actions ${JSON.stringify(s.actions)}
             corrupt ${corrupt} | hangs ${hangs} | names swept after killed servers ${namesSwept}
             client SIGKILLs ${s.clientKills}: server noticed in p50 ${s.clientKillNoticedMs.p50} ms, max ${s.clientKillNoticedMs.max} ms
             server SIGKILLs ${s.serverKills}: client noticed in p50 ${s.serverKillNoticedMs.p50} ms, max ${s.serverKillNoticedMs.max} ms
errors       expected ${JSON.stringify(s.expectedErrors)}
             unexpected ${JSON.stringify(s.unexpectedErrors)}
resources    fds ${start.fds} → ${end.fds} | our /dev/shm names ${start.shm} → ${end.shm} | mapped regions ${start.maps} → ${end.maps}
             RSS ${mib(start.rss)} → ${mib(end.rss)} (peak ${mib(rssPeak)}) | all shmnet names in /dev/shm ${globalBefore} → ${globalAfter}
result       ${figures.failures.length === 0 ? 'PASS' : `FAIL (${figures.failures.length}): ${figures.failures.slice(0, 10).join('; ')}`}
`);
  if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify(figures, null, 2));
  process.exitCode = figures.failures.length === 0 ? 0 : 1;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
