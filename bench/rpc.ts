/**
 * Request/response: sequential round trips of real RPC stacks between two
 * processes, over shmnet, a Unix socket and TCP, in one interleaved run.
 *
 * The servers live in their own process (rpc-peer.ts). The client side is
 * the same code for every transport; only the function that opens the
 * stream differs (`dial`): shmnet's `connect(path)`, `net.connect(path)`,
 * or `net.connect(port)`.
 *
 *   - HTTP/1.1 keep-alive, 64 B and 64 KiB bodies: one `http.Agent`
 *     (keepAlive, one socket) whose `createConnection` is `dial`;
 *   - HTTP/2: streams over one session, `http2.connect` with
 *     `createConnection`;
 *   - MessageConn: a 64-byte object sent, the echo awaited;
 *   - gRPC unary: a grpc-js server (fed shmnet Conns through its
 *     connection injector), the client speaking gRPC over node:http2.
 *
 * One sample: open a connection, make calls for `warmMs` untimed, then for
 * `ms` time each call (one at a time, the next sent when the previous
 * answer is complete). p50/p99 are of those calls; req/s is their count
 * over the window; CPU is both processes' CPU time over the window per
 * call. For shmnet the client Conn's waiting counters over the window are
 * kept too (parks, spin turns, doorbells).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import { loadavg } from 'node:os';
import { extname } from 'node:path';
import type { Duplex, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { connect, type Conn } from '../src/index.js';
import { MessageConn } from '../src/message/index.js';
import { measureForeign } from './foreign.js';
import { machineInfo, measuredOn, type MachineInfo } from './machine.js';
import { message64, MESSAGE_FIRST_ID } from './message.js';
import type { RpcAddresses, RpcPeerMessage, RpcProtocol, RpcTransport } from './rpc-protocol.js';
import { median, quantile } from './stats.js';

export interface RpcCase {
  key: string;
  protocol: RpcProtocol;
  /** Response body (HTTP) or message size, bytes. */
  size: number;
  title: string;
}

export const RPC_CASES: RpcCase[] = [
  { key: 'http1-64', protocol: 'http1', size: 64, title: 'HTTP/1.1 keep-alive, 64 B response' },
  { key: 'http1-64k', protocol: 'http1', size: 64 << 10, title: 'HTTP/1.1 keep-alive, 64 KiB response' },
  { key: 'http2-64', protocol: 'http2', size: 64, title: 'HTTP/2, streams over one connection, 64 B response' },
  { key: 'message', protocol: 'message', size: 64, title: 'MessageConn request/response, 64 B object each way' },
  { key: 'grpc', protocol: 'grpc', size: 64, title: 'gRPC unary, 64 B each way (grpc-js server, node:http2 client)' },
];

export const RPC_TRANSPORTS: RpcTransport[] = ['shm', 'unix', 'tcp'];
const LABEL: Record<RpcTransport, string> = { shm: 'shmnet', unix: 'Unix socket', tcp: 'TCP' };

export interface RpcConfig {
  reps: number;
  warmupMs: number;
  durationMs: number;
  /** shmnet `spin` on both sides; undefined: the default. */
  spin?: number;
  cases?: string[];
  /** Repeat a sample (up to `retries` times) when other processes used more than this % of a core meanwhile. */
  maxForeignCpu: number;
  retries: number;
}

export interface RpcSample {
  case: string;
  transport: RpcTransport;
  rep: number;
  calls: number;
  p50: number;
  p99: number;
  reqPerSec: number;
  /** CPU time of both processes in the window per call, µs. */
  cpuPerCall: number;
  /** Client-side shmnet counters over the window (shm only). */
  waits: { parks: number; spinTurns: number; doorbellsSent: number; doorbellsReceived: number } | null;
  foreignCpu: number | null;
  attempts: number;
}

export interface RpcResults {
  config: RpcConfig;
  /** Where it ran (absent in reports written before it was recorded). */
  machine?: MachineInfo;
  loadavg: number[];
  samples: RpcSample[];
}

// ---- the server process --------------------------------------------------------

class RpcPeer {
  #tag = 0;
  #waiting = new Map<number, (m: RpcPeerMessage) => void>();
  private constructor(
    readonly child: ChildProcess,
    readonly addresses: RpcAddresses,
  ) {
    child.on('message', (m: RpcPeerMessage) => {
      if (m.t === 'cpu') {
        this.#waiting.get(m.tag)?.(m);
        this.#waiting.delete(m.tag);
      } else if (m.t === 'error') process.stderr.write(`rpc peer: ${m.message}\n`);
    });
  }

  static async start(spin: number | undefined): Promise<RpcPeer> {
    const self = fileURLToPath(import.meta.url);
    const path = fileURLToPath(new URL(`./rpc-peer${extname(self)}`, import.meta.url));
    const child = fork(path, [JSON.stringify(spin === undefined ? {} : { spin })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const [m] = (await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(([code]) => {
        throw new Error(`rpc peer exited with code ${code} before it was ready`);
      }),
    ])) as [RpcPeerMessage];
    if (m.t !== 'ready') throw new Error(`rpc peer: ${m.t === 'error' ? m.message : 'unexpected first message'}`);
    return new RpcPeer(child, m.addresses);
  }

  cpuUsage(): Promise<{ user: number; system: number }> {
    return new Promise((resolve) => {
      const tag = ++this.#tag;
      this.#waiting.set(tag, (m) => resolve(m as { user: number; system: number }));
      this.child.send({ t: 'cpu', tag });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill(), 3000);
    await exited;
    clearTimeout(timer);
  }
}

// ---- clients: the same code over every transport -------------------------------------

interface Client {
  call(): Promise<void>;
  close(): Promise<void>;
  /** The shmnet Conn under the client, if any. */
  conn: Conn | null;
}

function dialer(t: RpcTransport, addr: string, spin: number | undefined, onConn: (c: Conn) => void): () => Duplex {
  if (t === 'shm') {
    return () => {
      const c = connect(spin === undefined ? { path: addr } : { path: addr, spin });
      onConn(c);
      return c;
    };
  }
  if (t === 'unix') return () => netConnect(addr);
  return () => netConnect({ port: Number(addr), host: '127.0.0.1', noDelay: true } as never) as Socket;
}

function readAll(s: Readable, expect: number, resolve: () => void, reject: (e: Error) => void): void {
  let n = 0;
  s.on('data', (d: Buffer) => (n += d.length));
  s.on('end', () => (n === expect ? resolve() : reject(new Error(`got ${n} bytes, expected ${expect}`))));
}

function http1Client(dial: () => Duplex, size: number): Client {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  (agent as unknown as { createConnection: () => Duplex }).createConnection = dial;
  const opts: http.RequestOptions = { agent, host: 'localhost', path: `/${size}` };
  return {
    conn: null,
    call: () =>
      new Promise((resolve, reject) => {
        const req = http.request(opts, (res) => readAll(res, size, resolve, reject));
        req.on('error', reject);
        req.end();
      }),
    close: async () => agent.destroy(),
  };
}

function http2Client(dial: () => Duplex, size: number): Client {
  const session = http2.connect('http://localhost', { createConnection: dial as never });
  session.on('error', () => {});
  const headers = { ':path': `/${size}` };
  return {
    conn: null,
    call: () =>
      new Promise((resolve, reject) => {
        const req = session.request(headers);
        req.on('error', reject);
        readAll(req, size, resolve, reject);
      }),
    close: () => new Promise<void>((r) => session.close(() => r())),
  };
}

function messageClient(dial: () => Duplex): Client {
  const s = dial();
  const mc = new MessageConn(s);
  let waiting: { id: number; resolve: () => void; reject: (e: Error) => void } | null = null;
  let id = MESSAGE_FIRST_ID;
  mc.on('message', (v: { id: number }) => {
    const w = waiting;
    waiting = null;
    if (w === null) return;
    if (v.id === w.id) w.resolve();
    else w.reject(new Error(`answer ${v.id} to request ${w.id}`));
  });
  mc.on('error', (err: Error) => waiting?.reject(err));
  return {
    conn: null,
    call: () =>
      new Promise((resolve, reject) => {
        waiting = { id: ++id, resolve, reject };
        mc.send(message64(id));
      }),
    close: async () => {
      const closed = once(s, 'close').catch(() => undefined);
      mc.end();
      const timer = setTimeout(() => s.destroy(), 2000);
      await closed;
      clearTimeout(timer);
    },
  };
}

const GRPC_HEADERS = { ':method': 'POST', ':path': '/bench.Echo/Echo', 'content-type': 'application/grpc', te: 'trailers' };

function grpcClient(dial: () => Duplex, size: number): Client {
  const session = http2.connect('http://localhost', { createConnection: dial as never });
  session.on('error', () => {});
  const frame = Buffer.alloc(5 + size, 0x61);
  frame[0] = 0;
  frame.writeUInt32BE(size, 1);
  return {
    conn: null,
    call: () =>
      new Promise((resolve, reject) => {
        const req = session.request(GRPC_HEADERS);
        let status: unknown;
        req.on('response', (h) => (status = h['grpc-status']));
        req.on('trailers', (h) => (status = h['grpc-status']));
        req.on('error', reject);
        readAll(req, 5 + size, () => (status === '0' ? resolve() : reject(new Error(`grpc-status ${String(status)}`))), reject);
        req.end(frame);
      }),
    close: () => new Promise<void>((r) => session.close(() => r())),
  };
}

function openClient(c: RpcCase, t: RpcTransport, addresses: RpcAddresses, spin: number | undefined): Client {
  let conn: Conn | null = null;
  const dial = dialer(t, addresses[c.protocol][t], spin, (k) => (conn = k));
  let client: Client;
  switch (c.protocol) {
    case 'http1':
      client = http1Client(dial, c.size);
      break;
    case 'http2':
      client = http2Client(dial, c.size);
      break;
    case 'message':
      client = messageClient(dial);
      break;
    case 'grpc':
      client = grpcClient(dial, c.size);
      break;
  }
  return Object.defineProperty(client, 'conn', { get: () => conn });
}

// ---- sampling -------------------------------------------------------------------------

function waitCounters(conn: Conn | null): RpcSample['waits'] {
  if (conn === null) return null;
  const s = conn.stats();
  const n = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : 0);
  return { parks: n('parks'), spinTurns: n('spinTurns'), doorbellsSent: n('doorbellsSent'), doorbellsReceived: n('doorbellsReceived') };
}

async function oneSample(peer: RpcPeer, c: RpcCase, t: RpcTransport, cfg: RpcConfig): Promise<Omit<RpcSample, 'case' | 'transport' | 'rep' | 'foreignCpu' | 'attempts'>> {
  const client = openClient(c, t, peer.addresses, cfg.spin);
  try {
    const warmEnd = performance.now() + cfg.warmupMs;
    while (performance.now() < warmEnd) await client.call();
    if (t === 'shm' && client.conn?.transport !== 'shm') throw new Error(`shmnet fell back to '${client.conn?.transport}'`);
    const w0 = waitCounters(client.conn);
    const peer0 = await peer.cpuUsage();
    const cpu0 = process.cpuUsage();
    const lat: number[] = [];
    const t0 = performance.now();
    const end = t0 + cfg.durationMs;
    let now = t0;
    while (now < end) {
      const a = now;
      await client.call();
      now = performance.now();
      lat.push((now - a) * 1000);
    }
    const ms = now - t0;
    const cpu = process.cpuUsage(cpu0);
    const peer1 = await peer.cpuUsage();
    const w1 = waitCounters(client.conn);
    lat.sort((a, b) => a - b);
    const cpuUs = cpu.user + cpu.system + peer1.user + peer1.system - peer0.user - peer0.system;
    return {
      calls: lat.length,
      p50: quantile(lat, 0.5),
      p99: quantile(lat, 0.99),
      reqPerSec: lat.length / (ms / 1000),
      cpuPerCall: cpuUs / lat.length,
      waits:
        w0 && w1
          ? {
              parks: w1.parks - w0.parks,
              spinTurns: w1.spinTurns - w0.spinTurns,
              doorbellsSent: w1.doorbellsSent - w0.doorbellsSent,
              doorbellsReceived: w1.doorbellsReceived - w0.doorbellsReceived,
            }
          : null,
    };
  } finally {
    await client.close();
  }
}

/** Every case × transport × rep, transports interleaved (rotated per rep) inside each case. */
export async function runRpc(cfg: RpcConfig, log: (line: string) => void): Promise<RpcResults> {
  const cases = cfg.cases === undefined ? RPC_CASES : RPC_CASES.filter((c) => cfg.cases!.includes(c.key));
  const peer = await RpcPeer.start(cfg.spin);
  const samples: RpcSample[] = [];
  const load = loadavg();
  try {
    for (const c of cases) for (const t of RPC_TRANSPORTS) await oneSample(peer, c, t, { ...cfg, durationMs: 1 });
    const total = cfg.reps * cases.length * RPC_TRANSPORTS.length;
    for (let rep = 0; rep < cfg.reps; rep++) {
      for (const c of cases) {
        for (let i = 0; i < RPC_TRANSPORTS.length; i++) {
          const t = RPC_TRANSPORTS[(i + rep) % RPC_TRANSPORTS.length]!;
          for (let attempt = 1; ; attempt++) {
            const m = await measureForeign(peer, () => oneSample(peer, c, t, cfg));
            if (m.foreignCpu === null || m.foreignCpu <= cfg.maxForeignCpu || attempt > cfg.retries) {
              const s = { case: c.key, transport: t, rep, ...m.value, foreignCpu: m.foreignCpu, attempts: attempt };
              samples.push(s);
              log(
                `[${samples.length}/${total}] rpc ${c.key.padEnd(9)} ${LABEL[t].padEnd(11)} rep ${rep + 1}/${cfg.reps}: ` +
                  `p50 ${s.p50.toFixed(0)} µs, p99 ${s.p99.toFixed(0)} µs, ${Math.round(s.reqPerSec)} req/s, ` +
                  `${s.cpuPerCall.toFixed(0)} CPU µs/call, foreign ${m.foreignCpu?.toFixed(0) ?? '?'}%` +
                  (s.waits ? `, parks ${s.waits.parks}, bells ${s.waits.doorbellsSent}/${s.waits.doorbellsReceived}, spins ${s.waits.spinTurns}` : ''),
              );
              break;
            }
            log(`  rpc ${c.key} ${t}: other processes used ${m.foreignCpu.toFixed(0)}% of a core meanwhile; repeating`);
          }
        }
      }
    }
  } finally {
    await peer.stop();
  }
  return { config: cfg, machine: machineInfo(), loadavg: load, samples };
}

// ---- report ---------------------------------------------------------------------------

function fmt(v: number, digits = 0): string {
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function range(vals: number[], digits = 0): string {
  return `${fmt(Math.min(...vals), digits)}–${fmt(Math.max(...vals), digits)}`;
}

/** One table per case: medians over reps (ranges in brackets) and ratios to the Unix socket. */
export function rpcMarkdown(r: RpcResults): string {
  const out: string[] = ['## Request/response', ''];
  out.push(
    `Sequential calls, one connection, server in another process; medians of ${r.config.reps} interleaved repetitions ` +
      `(range in brackets), ${r.config.warmupMs} ms warm-up + ${r.config.durationMs} ms per sample; ` +
      `shmnet spin ${r.config.spin === undefined ? 'default' : `${r.config.spin} µs`}; load average at start ${r.loadavg.map((v) => v.toFixed(1)).join(' ')}.`,
    '',
  );
  for (const c of RPC_CASES) {
    const rows = RPC_TRANSPORTS.map((t) => ({ t, s: r.samples.filter((s) => s.case === c.key && s.transport === t) })).filter((x) => x.s.length > 0);
    if (rows.length === 0) continue;
    const med = (t: RpcTransport, k: 'p50' | 'p99' | 'reqPerSec') => median(r.samples.filter((s) => s.case === c.key && s.transport === t).map((s) => s[k]));
    out.push(`### ${c.title}`, '', '| transport | p50 µs | p99 µs | req/s | CPU µs/call | p50 vs Unix | p99 vs Unix | req/s vs Unix |', '|---|---|---|---|---|---|---|---|');
    for (const { t, s } of rows) {
      const p50 = s.map((x) => x.p50);
      const p99 = s.map((x) => x.p99);
      const rps = s.map((x) => x.reqPerSec);
      const ratio = (k: 'p50' | 'p99' | 'reqPerSec') => `${(med(t, k) / med('unix', k)).toFixed(2)}×`;
      out.push(
        `| ${LABEL[t]} | ${fmt(median(p50))} (${range(p50)}) | ${fmt(median(p99))} (${range(p99)}) | ${fmt(median(rps))} (${range(rps)}) | ` +
          `${fmt(median(s.map((x) => x.cpuPerCall)))} | ${ratio('p50')} | ${ratio('p99')} | ${ratio('reqPerSec')} |`,
      );
    }
    if (r.machine !== undefined) out.push('', measuredOn(r.machine));
    out.push('');
  }
  return out.join('\n') + '\n';
}
