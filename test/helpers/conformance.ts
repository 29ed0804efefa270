/**
 * The differential conformance harness: a scenario is written once against
 * a "flavour" (node:net or shmnet, over a Unix path or a TCP port) and
 * records what a user of the net API can observe — events in order with
 * their arguments, counters, errors' codes — without timestamps. The
 * harness runs it on node:net first and on shmnet after, and the two
 * records must be identical.
 *
 * Where the README's "How it differs from node:net" documents a
 * difference, the scenario says which one (`documented`) and gives the
 * record shmnet must produce instead (`expectShm`, derived from net's).
 */
import type { Test } from 'tap';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as shmnet from '../../src/index.js';

export type FlavourName = 'net-unix' | 'net-tcp' | 'shm-unix' | 'shm-tcp';
export type Family = 'unix' | 'tcp';

/** The part of a net.Socket / shmnet Conn the scenarios use. */
export type Sock = net.Socket & { transport?: string; server?: unknown };
export type Srv = net.Server;

export interface Flavour {
  readonly name: FlavourName;
  readonly kind: 'net' | 'shm';
  readonly family: Family;
  /** `net` or the shmnet module: what a user imports. */
  readonly lib: { createServer: Function; connect: Function; createConnection: Function; Server: Function };
  /** A server from `lib.createServer(...)`, tracked for clean-up. */
  createServer(options?: object, listener?: (c: Sock) => void): Srv;
  /** Listens on this flavour's kind of address; resolves with what connect() needs. */
  listen(server: Srv): Promise<ConnectTarget>;
  /** `lib.connect({ ...target, ...options })`, tracked for clean-up. */
  connect(target: ConnectTarget, options?: object, listener?: () => void): Sock;
}

export type ConnectTarget = { path: string } | { port: number; host: string };

/** What a run observed: one list of entries per named side, plus values. */
export type Outcome = Record<string, Array<string | number | boolean | null>>;

export class Recorder {
  readonly outcome: Outcome = {};

  /** Appends `entry` to the log of `side`. */
  log(side: string, entry: string | number | boolean | null): void {
    (this.outcome[side] ??= []).push(entry);
  }

  /**
   * Records the events of `s` on `side`: consecutive 'data' events are
   * merged into one `data <bytes>` entry (chunking is not part of the
   * contract), 'close' with its hadError, 'error' with its code. 'finish'
   * goes to a list of its own (`<side>.finish`): when the write side
   * finishes relative to what the read side sees is timing in net.
   */
  watch(side: string, s: Sock, events: readonly string[] = DEFAULT_EVENTS): void {
    for (const ev of events) {
      if (ev === 'data') {
        s.on('data', (d: Buffer | string) => this.#data(side, Buffer.byteLength(d)));
      } else if (ev === 'close') {
        s.on('close', (hadError: unknown) => this.log(side, `close ${String(hadError)}`));
      } else if (ev === 'finish') {
        s.on('finish', () => this.log(`${side}.finish`, 'finish'));
      } else if (ev === 'error') {
        s.on('error', (err: Error) => this.log(side, `error ${codeOf(err)}`));
      } else {
        s.on(ev, () => this.log(side, ev));
      }
    }
  }

  #data(side: string, n: number): void {
    const list = (this.outcome[side] ??= []);
    const last = list[list.length - 1];
    if (typeof last === 'string' && last.startsWith('data ')) list[list.length - 1] = `data ${Number(last.slice(5)) + n}`;
    else list.push(`data ${n}`);
  }
}

export const DEFAULT_EVENTS = ['connect', 'ready', 'data', 'end', 'finish', 'timeout', 'error', 'close'] as const;
/** Events of an accepted socket: it never emits 'connect'/'ready' in net (and shmnet emits them before 'connection'). */
export const ACCEPTED_EVENTS = ['data', 'end', 'finish', 'timeout', 'error', 'close'] as const;

/**
 * The code a user would test: `err.code` for node:net and stream errors; for
 * a shmnet error that stands for an errno net reports, that errno's name
 * (`sysCode`: the one catalogue keeps its own `code`, see the README).
 */
export function codeOf(err: unknown): string {
  const e = err as { code?: unknown; sysCode?: unknown } | null;
  if (e && typeof e.sysCode === 'string') return e.sysCode;
  return e && typeof e.code === 'string' ? e.code : `uncoded:${String((err as Error)?.message ?? err)}`;
}

/** Runs `fn` and returns 'ok' or the code it threw. */
export function attempt(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return `throws ${codeOf(err)}`;
  }
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

/** Sockets of a flavour that have emitted 'close' (`closed` turns true before, at destroy()). */
const emittedClose = new WeakSet<object>();

function markClose(s: Sock): void {
  s.once('close', () => emittedClose.add(s));
}

/** Resolves when `s` (a flavour's socket) has emitted 'close' (now or earlier). */
export function closed(s: { once(e: 'close', f: () => void): unknown }): Promise<void> {
  if (emittedClose.has(s)) return new Promise((r) => setImmediate(r));
  return new Promise((r) => s.once('close', () => setImmediate(r)));
}

/** Resolves with the next 'connection' of `server`. */
export async function accepted(server: Srv): Promise<Sock> {
  const [c] = await once(server, 'connection');
  return c as Sock;
}

/** Closes `server` and resolves once its callback ran. */
export function closeServer(server: Srv): Promise<void> {
  return new Promise((r) => server.close(() => r()));
}

/**
 * Collects everything `s` emits as 'data' until 'end' (or 'close'); `onBody`
 * runs inside that event, so what it logs keeps its place among the events.
 */
export function collect(s: Sock, onBody?: (body: Buffer) => void): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (d: Buffer) => parts.push(Buffer.from(d)));
  return new Promise((r) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const body = Buffer.concat(parts);
      onBody?.(body);
      r(body);
    };
    s.once('end', finish);
    s.once('close', finish);
  });
}

// ---- flavours ----------------------------------------------------------------

class FlavourImpl implements Flavour {
  readonly kind: 'net' | 'shm';
  readonly family: Family;
  readonly lib: Flavour['lib'];
  readonly servers = new Set<Srv>();
  readonly sockets = new Set<Sock>();
  #dir: string | null = null;
  #n = 0;

  constructor(readonly name: FlavourName) {
    this.kind = name.startsWith('net') ? 'net' : 'shm';
    this.family = name.endsWith('unix') ? 'unix' : 'tcp';
    this.lib = (this.kind === 'net' ? net : shmnet) as unknown as Flavour['lib'];
  }

  createServer(options?: object, listener?: (c: Sock) => void): Srv {
    const s = (options === undefined ? this.lib.createServer(listener) : this.lib.createServer(options, listener)) as Srv;
    this.track(s);
    return s;
  }

  track(s: Srv): void {
    this.servers.add(s);
    s.on('connection', (c: Sock) => {
      this.sockets.add(c);
      markClose(c);
      // A scenario that does not watch this end must not crash on its errors.
      c.on('error', () => {});
    });
  }

  async listen(server: Srv): Promise<ConnectTarget> {
    if (this.family === 'unix') {
      if (this.#dir === null) {
        const dir = mkdtempSync(join(tmpdir(), 'shmnet-conf-'));
        this.#dir = dir;
        process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      }
      const path = join(this.#dir, `s${this.#n++}`);
      server.listen(path);
      await once(server, 'listening');
      return { path };
    }
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { port: (server.address() as net.AddressInfo).port, host: '127.0.0.1' };
  }

  connect(target: ConnectTarget, options: object = {}, listener?: () => void): Sock {
    const s = this.lib.connect({ ...target, ...options }, listener) as Sock;
    this.sockets.add(s);
    markClose(s);
    return s;
  }

  /** Destroys what a scenario left open. */
  async cleanup(): Promise<void> {
    for (const s of this.sockets) {
      if (!s.destroyed) s.destroy();
    }
    await Promise.all([...this.servers].map((s) => (s.listening ? closeServer(s) : undefined)));
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** A flavour by name (for children that run one case). */
export function flavour(name: FlavourName): Flavour {
  return new FlavourImpl(name);
}

// ---- scenarios -------------------------------------------------------------------

export interface Scenario {
  name: string;
  /** Which differences this scenario pins (for the coverage table). */
  covers?: string;
  run(fl: Flavour, rec: Recorder): Promise<void>;
  /** Runs the flavours at once (scenarios that mostly wait for child processes). */
  parallel?: boolean;
  /** Which flavours run it; default all four. */
  flavours?: readonly FlavourName[];
  /** The net flavour a shmnet flavour is compared with; default the same family. */
  reference?(shm: FlavourName): FlavourName;
  /**
   * A difference the README documents: `reason` names it, `expectShm` turns
   * net's record into the one shmnet must produce.
   */
  documented?: { reason: string; expectShm(netOutcome: Outcome, fl: Flavour): Outcome };
}

/** Most a single run may take before it counts as a hang (a slow, busy machine included). */
const RUN_TIMEOUT_MS = Number(process.env.CONFORMANCE_RUN_TIMEOUT_MS ?? 20_000);

/** Runs `scenario` on `name` and returns what it recorded (with 'hang' or 'threw' if it did not finish). */
export async function runOn(scenario: Scenario, name: FlavourName): Promise<Outcome> {
  const fl = new FlavourImpl(name);
  const rec = new Recorder();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hang'>((r) => (timer = setTimeout(() => r('hang'), RUN_TIMEOUT_MS)));
  try {
    const r = await Promise.race([scenario.run(fl, rec).then(() => 'done' as const), hang]);
    if (r === 'hang') rec.log('result', 'hang');
  } catch (err) {
    rec.log('result', `threw ${codeOf(err)} ${(err as Error)?.stack ?? ''}`);
  } finally {
    clearTimeout(timer);
    await Promise.race([fl.cleanup(), new Promise((r) => setTimeout(r, 5000).unref())]);
  }
  return rec.outcome;
}

/** Tallies per side, printed at the end of each file. */
export const tally = { scenarios: 0, net: { run: 0, pass: 0 }, shm: { run: 0, pass: 0 } };

/**
 * Registers one tap subtest per scenario: the net runs first (each must
 * finish), then every shmnet flavour's record is compared with its
 * reference.
 */
export function conformance(t: Test, scenarios: readonly Scenario[]): void {
  for (const sc of scenarios) {
    tally.scenarios++;
    t.test(sc.name, async (t) => {
      const flavours = sc.flavours ?? (['net-unix', 'net-tcp', 'shm-unix', 'shm-tcp'] as const);
      const refs = new Map<FlavourName, Outcome>();
      const pre = new Map<FlavourName, Promise<Outcome>>();
      if (sc.parallel) for (const name of flavours) pre.set(name, runOn(sc, name));
      const run = (name: FlavourName) => pre.get(name) ?? runOn(sc, name);
      for (const name of flavours.filter((f) => f.startsWith('net'))) {
        const out = await run(name);
        tally.net.run++;
        const ok = out.result === undefined;
        if (ok) tally.net.pass++;
        t.notOk(out.result, `${name} finishes`, { outcome: out });
        refs.set(name, out);
      }
      for (const name of flavours.filter((f) => f.startsWith('shm'))) {
        const refName = sc.reference?.(name) ?? (name === 'shm-unix' ? 'net-unix' : 'net-tcp');
        const ref = refs.get(refName) ?? (await run(refName));
        const fl = new FlavourImpl(name);
        const expected = sc.documented ? sc.documented.expectShm(ref, fl) : ref;
        const out = await run(name);
        tally.shm.run++;
        const same = t.same(out, expected, sc.documented ? `${name} as documented (${sc.documented.reason})` : `${name} behaves as ${refName}`);
        if (same) tally.shm.pass++;
      }
    });
  }
  t.test('tally', async (t) => {
    t.comment(
      `conformance: ${tally.scenarios} scenarios; net runs passed ${tally.net.pass}/${tally.net.run}; shmnet runs passed ${tally.shm.pass}/${tally.shm.run}`,
    );
    t.pass('counted');
  });
}

/** Replaces every entry of `side` for which `match` holds (for documented differences). */
export function mapSide(o: Outcome, side: string, f: (list: Outcome[string]) => Outcome[string]): Outcome {
  return { ...o, [side]: f(o[side] ?? []) };
}

// ---- the common set-up -------------------------------------------------------------

export interface PairInit {
  server?: object;
  client?: object;
  /** Events recorded on the accepted socket (default ACCEPTED_EVENTS; 'data' makes it flow). */
  serverEvents?: readonly string[];
  clientEvents?: readonly string[];
  /** Runs inside the server's 'connection' event, before anything else can happen. */
  onConnection?(c: Sock, server: Srv): void;
  /** Runs right after connect() returned. */
  onClient?(c: Sock): void;
}

export interface Pair {
  server: Srv;
  target: ConnectTarget;
  client: Sock;
  conn: Sock;
}

/** A listening server, a client connected to it and the accepted socket, each watched on its side. */
export async function pair(fl: Flavour, rec: Recorder, init: PairInit = {}): Promise<Pair> {
  const server = fl.createServer(init.server ?? {});
  const target = await fl.listen(server);
  const got = new Promise<Sock>((resolve) => {
    server.once('connection', (c: Sock) => {
      rec.watch('server', c, init.serverEvents ?? ACCEPTED_EVENTS);
      counters(rec, 'server', c);
      init.onConnection?.(c, server);
      resolve(c);
    });
  });
  const client = fl.connect(target, init.client ?? {});
  rec.watch('client', client, init.clientEvents ?? DEFAULT_EVENTS);
  counters(rec, 'client', client);
  init.onClient?.(client);
  const conn = await got;
  // Which of 'connection' and 'connect' comes first is timing: settle both.
  if (client.connecting) await new Promise((r) => (client.once('connect', r), client.once('close', r)));
  return { server, target, client, conn };
}

/** Logs the byte counters of `s` when it closes. */
export function counters(rec: Recorder, side: string, s: Sock): void {
  s.on('close', () => rec.log(side, `bytes read ${s.bytesRead} written ${s.bytesWritten}`));
}

/** Waits for both sockets to close, then for the server's close callback (logged on 'server'). */
export async function settle(rec: Recorder, p: Pair): Promise<void> {
  await Promise.all([closed(p.client), closed(p.conn)]);
  await closeServer(p.server);
  rec.log('server', 'server closed');
}
