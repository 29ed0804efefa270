/**
 * Where the time of one HTTP/1.1 keep-alive round trip goes, step by step,
 * over shmnet, a Unix socket or TCP. Both processes stamp events with
 * `process.hrtime.bigint()` (CLOCK_MONOTONIC on Linux, one clock for every
 * process), so stamps from the two sides can be subtracted:
 *
 *   client: request   http.request() called
 *           cwrite    the first write() of the request on the stream
 *   server: swake     the first chunk of the request pushed to the stream
 *           handler   the request handler runs (parse done)
 *           swrite    the first write() of the response on the stream
 *   client: cwake     the first chunk of the response pushed to the stream
 *           done      the response's 'end'
 *
 *   node dist/bench/rpc-trace.js [shm|unix|tcp] [calls] [spin]
 *
 * Prints the median and p99 of each step and both sides' shmnet counters.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { connect as netConnect, createServer as createNetServer, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { connect, createServer, type Conn } from '../src/index.js';
import { quantile } from './stats.js';

const now = () => process.hrtime.bigint();
type Stamps = Record<string, bigint>;

/** Wraps a stream's write and push so the first of each per exchange is stamped. */
function instrument(s: Duplex, onWrite: () => void, onPush: () => void): void {
  const w = s.write.bind(s) as (...a: unknown[]) => boolean;
  (s as unknown as { write: (...a: unknown[]) => boolean }).write = (...a) => (onWrite(), w(...a));
  const p = s.push.bind(s);
  s.push = (chunk: unknown, enc?: BufferEncoding) => (chunk !== null && onPush(), p(chunk, enc));
  // A net.Socket delivers through onStreamRead → push as well.
}

function serverMain(kind: string, spin: number | undefined): void {
  const dir = mkdtempSync(join(tmpdir(), 'shmnet-trace-'));
  const path = join(dir, 's');
  const stamps: Stamps[] = [];
  let cur: Stamps = {};
  let conn: Duplex | null = null;
  const body = Buffer.alloc(64, 0x61);
  const hs = http.createServer({ keepAliveTimeout: 60_000 }, (_req, res) => {
    // A net.Socket feeds node's parser without push() (it consumes the handle): no swake, so the next request starts here.
    if (cur.handler !== undefined) {
      stamps.push(cur);
      cur = {};
    }
    cur.handler = now();
    res.writeHead(200, { 'content-length': body.length });
    res.end(body);
  });
  const feed = (s: Duplex) => {
    conn = s;
    instrument(
      s,
      () => void (cur.swrite ??= now()),
      () => {
        if (cur.swake !== undefined && cur.swrite !== undefined) {
          stamps.push(cur);
          cur = {};
        }
        cur.swake ??= now();
      },
    );
    hs.emit('connection', s);
  };
  const srv = kind === 'shm' ? createServer(spin === undefined ? {} : { spin }, (c: Conn) => feed(c)) : createNetServer((s: Socket) => feed(s));
  srv.listen(kind === 'tcp' ? 0 : path, () => {
    const a = srv.address();
    process.send!({ t: 'ready', addr: typeof a === 'string' ? a : String((a as { port: number }).port) });
  });
  process.on('message', () => {
    stamps.push(cur);
    const stats = (conn as Conn | null)?.stats?.() ?? null;
    process.send!({ t: 'stamps', stamps: stamps.map((s) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, String(v)]))), stats }, () => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  });
}

async function clientMain(kind: string, calls: number, spin: number | undefined): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ['server', kind, String(spin ?? '')]);
  const [ready] = (await once(child, 'message')) as [{ addr: string }];
  let cur: Stamps = {};
  const stamps: Stamps[] = [];
  let conn: Duplex | null = null;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  (agent as unknown as { createConnection: () => Duplex }).createConnection = () => {
    const s: Duplex =
      kind === 'shm'
        ? connect(spin === undefined ? { path: ready.addr } : { path: ready.addr, spin })
        : kind === 'unix'
          ? netConnect(ready.addr)
          : netConnect({ port: Number(ready.addr), host: '127.0.0.1', noDelay: true } as never);
    instrument(
      s,
      () => void (cur.cwrite ??= now()),
      () => void (cur.cwake ??= now()),
    );
    conn = s;
    return s;
  };
  for (let i = 0; i < calls; i++) {
    cur = { request: now() };
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ agent, host: 'localhost', path: '/' }, (res) => {
        res.on('data', () => {});
        res.on('end', () => {
          cur.done = now();
          resolve();
        });
      });
      req.on('error', reject);
      req.end();
    });
    stamps.push(cur);
  }
  const clientStats = (conn as Conn | null)?.stats?.() ?? null;
  child.send({ t: 'stop' });
  const [m] = (await once(child, 'message')) as [{ stamps: Record<string, string>[]; stats: unknown }];
  agent.destroy();
  const server = m.stamps.map((s) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, BigInt(v)])));
  // Skip the first tenth (connection set-up, JIT).
  const skip = Math.floor(calls / 10);
  const steps: Array<[string, string, string, 'c' | 's' | 'x']> = [
    ['client: request() → write', 'request', 'cwrite', 'c'],
    ['client write → server wake', 'cwrite', 'swake', 'x'],
    ['server: wake → handler (parse)', 'swake', 'handler', 's'],
    ['client write → server handler (wake + parse)', 'cwrite', 'handler', 'x'],
    ['server: handler → response write', 'handler', 'swrite', 's'],
    ['server write → client wake', 'swrite', 'cwake', 'x'],
    ['client: wake → response end', 'cwake', 'done', 'c'],
    ['total round trip', 'request', 'done', 'c'],
  ];
  const out: string[] = [`| step (${kind}${spin === undefined ? '' : `, spin ${spin}`}) | median µs | p99 µs |`, '|---|---|---|'];
  for (const [label, a, b] of steps) {
    const d: number[] = [];
    for (let i = skip; i < calls; i++) {
      const c = stamps[i]!;
      const s = server[i] ?? {};
      const at = (k: string) => c[k] ?? s[k];
      const x = at(a);
      const y = at(b);
      if (x !== undefined && y !== undefined) d.push(Number(y - x) / 1000);
    }
    d.sort((p, q) => p - q);
    out.push(`| ${label} | ${quantile(d, 0.5).toFixed(1)} | ${quantile(d, 0.99).toFixed(1)} |`);
  }
  const gap: number[] = [];
  for (let i = skip + 1; i < calls; i++) gap.push(Number(stamps[i]!.request! - stamps[i - 1]!.done!) / 1000);
  gap.sort((p, q) => p - q);
  out.push(`| client: response end → next request() | ${quantile(gap, 0.5).toFixed(1)} | ${quantile(gap, 0.99).toFixed(1)} |`);
  process.stdout.write(out.join('\n') + '\n');
  const pick = (s: unknown) => {
    if (s === null || typeof s !== 'object') return null;
    const o = s as Record<string, unknown>;
    return { parks: o.parks, spinTurns: o.spinTurns, doorbellsSent: o.doorbellsSent, doorbellsReceived: o.doorbellsReceived, replies: o.replies, replySpunUs: o.replySpunUs, replyParkedUs: o.replyParkedUs, replySpinUs: o.replySpinUs, spinStalls: o.spinStalls };
  };
  process.stdout.write(`calls ${calls}; client ${JSON.stringify(pick(clientStats))}; server ${JSON.stringify(pick(m.stats))}\n`);
}

if (process.argv[2] === 'server') serverMain(process.argv[3]!, process.argv[4] ? Number(process.argv[4]) : undefined);
else
  void clientMain(process.argv[2] ?? 'shm', Number(process.argv[3] ?? 5000), process.argv[4] ? Number(process.argv[4]) : undefined).catch((err: Error) => {
    process.stderr.write(`rpc-trace failed: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  });
