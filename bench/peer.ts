/**
 * The benchmark's peer process: forked by cli.ts, it listens on every
 * transport under test and is the far end of every measurement.
 *
 *   - shmnet servers (default options, `spin: 0`, one receiving through
 *     `onread`, one borrowing ring bytes in place), a node:net TCP
 *     server on 127.0.0.1 and a node:net Unix-socket server; its own stdin
 *     is the pipe;
 *   - every accepted stream starts with a preamble (protocol.ts) choosing
 *     sink mode (count bytes, the receiver of one-way throughput) or echo
 *     mode (write everything back, the far side of ping-pong);
 *   - the IPC channel carries `await` / `reached` and CPU readings;
 *   - for message mode it is the sender instead: `msend` makes it connect
 *     to a server in the bench process and send MessageConn messages until
 *     `mstop` (message.ts);
 *   - the far end of the request/response peers: MessageConn echo servers
 *     (rpc.ts), zeromq Pull and Reply sockets (zeromq.ts) and a gRPC server
 *     (grpc.ts). A peer library that does not load here is reported in
 *     `skipped` and its rows are skipped.
 *
 * All streams, whatever carries them, go through the same `accept()`.
 */
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex, Readable } from 'node:stream';
import { createServer, type Conn, type Server } from '../src/index.js';
import { startGrpcPeer } from './grpc.js';
import { startMessageSender, type MessageSender } from './message.js';
import { loadPeer, type PeerLibrary } from './optional.js';
import { messageEchoServers } from './message-rpc.js';
import { startZmqPeer } from './zeromq.js';
import { touchLines } from './touch.js';
import { MODE_ECHO, MODE_SINK, ONREAD_BUFFER, parsePreamble, PREAMBLE_SIZE, type FromPeer, type PeerAddresses, type ToPeer } from './protocol.js';

function send(m: FromPeer): void {
  process.send!(m);
}

/** An `await` from the bench: answered once every listed sink reached its count. */
interface Pending {
  tag: number;
  left: number;
  sinks: Sink[];
}

/** Byte counter for one stream id; may exist before its stream arrives. */
class Sink {
  count = 0;
  threshold = Infinity;
  pending: Pending | null = null;
  stream: Readable | null = null;

  constructor(readonly id: number) {}

  add(n: number): void {
    this.count += n;
    if (this.count >= this.threshold) this.#hit();
  }

  wait(p: Pending, bytes: number): void {
    this.pending = p;
    this.threshold = bytes;
    if (this.count >= bytes) this.#hit();
  }

  #hit(): void {
    const p = this.pending!;
    this.pending = null;
    this.threshold = Infinity;
    if (--p.left === 0) {
      const stats = p.sinks.map((s) => {
        const st = s.stream as (Readable & { stats?: () => Record<string, unknown> }) | null;
        return typeof st?.stats === 'function' ? st.stats() : null;
      });
      const u = process.cpuUsage();
      send({ t: 'reached', tag: p.tag, stats, user: u.user, system: u.system });
    }
  }
}

const sinks = new Map<number, Sink>();

function sinkFor(id: number): Sink {
  let s = sinks.get(id);
  if (!s) {
    s = new Sink(id);
    sinks.set(id, s);
  }
  return s;
}

/** Reads the preamble, then counts (sink) or echoes (echo). */
function accept(stream: Duplex | Readable): void {
  let pre: Buffer | null = Buffer.alloc(0);
  let sink: Sink | null = null;
  let echo = false;
  stream.on('data', (d: Buffer) => {
    if (sink !== null) {
      sink.add(d.length);
      return;
    }
    if (echo) {
      (stream as Duplex).write(d);
      return;
    }
    pre = Buffer.concat([pre!, d]);
    if (pre.length < PREAMBLE_SIZE) return;
    const { mode, id } = parsePreamble(pre);
    const rest = pre.subarray(PREAMBLE_SIZE);
    pre = null;
    if (mode === MODE_SINK) {
      sink = sinkFor(id);
      sink.stream = stream;
      stream.once('close', () => sinks.delete(id));
      if (rest.length > 0) sink.add(rest.length);
    } else if (mode === MODE_ECHO) {
      echo = true;
      if (rest.length > 0) (stream as Duplex).write(rest);
    } else {
      send({ t: 'error', message: `unknown preamble mode ${mode}` });
      (stream as Duplex).destroy();
    }
  });
  stream.on('error', onStreamError);
}

/**
 * The sink of a Conn that receives without 'data' (onread, borrowed
 * views): the preamble first (assembled from however the bytes come),
 * then every byte counted, each cache line touched.
 */
class RawSink {
  #pre: Buffer | null = Buffer.alloc(0);
  #sink: Sink | null = null;

  constructor(readonly conn: Conn) {}

  take(b: Uint8Array, n: number): void {
    touchLines(b, n);
    if (this.#sink !== null) {
      this.#sink.add(n);
      return;
    }
    this.#pre = Buffer.concat([this.#pre!, b.subarray(0, n)]);
    if (this.#pre.length < PREAMBLE_SIZE) return;
    const { mode, id } = parsePreamble(this.#pre);
    const rest = this.#pre.length - PREAMBLE_SIZE;
    this.#pre = null;
    if (mode !== MODE_SINK) {
      send({ t: 'error', message: `mode ${mode} is not served over onread or lanes (sink only)` });
      this.conn.destroy();
      return;
    }
    const sink = (this.#sink = sinkFor(id));
    sink.stream = this.conn;
    this.conn.once('close', () => sinks.delete(id));
    if (rest > 0) sink.add(rest);
  }
}

/** A reset at the end of a measurement is not a failure; anything else is reported. */
function onStreamError(err: Error): void {
  if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') send({ t: 'error', message: `peer stream: ${err.message}` });
}

/** An onread server: one reused receive buffer per process (a callback runs to completion before the next read). */
function onreadServer(): Server {
  const of = new WeakMap<Conn, RawSink>();
  const buffer = Buffer.allocUnsafe(ONREAD_BUFFER);
  return createServer(
    {
      onread: {
        buffer,
        callback(this: Conn, nread: number, buf: Uint8Array) {
          let s = of.get(this);
          if (s === undefined) of.set(this, (s = new RawSink(this)));
          s.take(buf, nread);
        },
      },
    },
    (c: Conn) => c.on('error', onStreamError),
  );
}

/** A server whose Conns borrow what arrives in place and release it once counted. */
function lanesServer(): Server {
  return createServer((c: Conn) => {
    c.on('error', onStreamError);
    c.pause();
    const s = new RawSink(c);
    const drain = (): void => {
      for (;;) {
        const v = c.borrow();
        if (v === null) return;
        s.take(v, v.length);
        c.release(v.length);
      }
    };
    c.on('borrowable', drain);
    drain();
  });
}

function listenNet(server: NetServer | Server, arg: number | string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    if (typeof arg === 'number') server.listen(arg, '127.0.0.1', () => resolve());
    else server.listen(arg, () => resolve());
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'shmnet-bench-'));
  const unixPath = join(dir, 'unix.sock');
  const shm = createServer((c: Conn) => accept(c));
  const shmPark = createServer({ spin: 0 }, (c: Conn) => accept(c));
  const shmOnread = onreadServer();
  const shmLanes = lanesServer();
  const tcp = createNetServer({ noDelay: true }, (s) => accept(s));
  const unix = createNetServer((s) => accept(s));
  const message = messageEchoServers();
  await Promise.all([
    listenNet(shm, 0),
    listenNet(shmPark, 0),
    listenNet(shmOnread, 0),
    listenNet(shmLanes, 0),
    listenNet(tcp, 0),
    listenNet(unix, unixPath),
    listenNet(message.shm, 0),
    listenNet(message.tcp, 0),
  ]);
  const port = (s: NetServer | Server) => (s.address() as { port: number }).port;
  const addresses: PeerAddresses = {
    shmPort: port(shm),
    shmPark: port(shmPark),
    shmOnread: port(shmOnread),
    shmLanes: port(shmLanes),
    tcpPort: port(tcp),
    unixPath,
    messageShmPort: port(message.shm),
    messageTcpPort: port(message.tcp),
    skipped: {},
  };
  const closers: Array<() => void> = [];
  /** Starts the far end of an optional peer library; one that does not load or start is skipped, not fatal. */
  const optional = async <T extends { close(): void }>(name: PeerLibrary, start: () => Promise<T>): Promise<T | undefined> => {
    const l = await loadPeer(name);
    if (!l.ok) {
      addresses.skipped[name] = l.reason;
      return undefined;
    }
    let started: T;
    try {
      started = await start();
    } catch (err) {
      addresses.skipped[name] = `${name} loaded but could not start here: ${(err as Error).message}`;
      return undefined;
    }
    closers.push(() => started.close());
    return started;
  };
  const onZmqError = (err: Error) => send({ t: 'error', message: `zeromq: ${err.message}` });
  addresses.zeromq = (await optional('zeromq', () => startZmqPeer(dir, sinkFor, onZmqError)))?.addresses;
  addresses.grpc = (await optional('grpc', () => startGrpcPeer(dir)))?.addresses;
  accept(process.stdin);

  const shutdown = () => {
    shm.close();
    shmPark.close();
    shmOnread.close();
    shmLanes.close();
    tcp.close();
    unix.close();
    message.shm.close();
    message.tcp.close();
    for (const close of closers) close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('disconnect', shutdown);
  let sender: MessageSender | null = null;
  process.on('message', (m: ToPeer) => {
    switch (m.t) {
      case 'await': {
        const p: Pending = { tag: m.tag, left: m.waits.length, sinks: [] };
        for (const [id] of m.waits) p.sinks.push(sinkFor(id));
        for (let i = 0; i < m.waits.length; i++) p.sinks[i]!.wait(p, m.waits[i]![1]);
        break;
      }
      case 'cpu': {
        const u = process.cpuUsage();
        send({ t: 'cpu', tag: m.tag, user: u.user, system: u.system });
        break;
      }
      case 'msend': {
        if (sender !== null) {
          send({ t: 'msending', tag: m.tag, error: 'a message sender is already running' });
          break;
        }
        startMessageSender(m.port, m.transport, m.records, (err) => send({ t: 'error', message: `message sender: ${err.message}` })).then(
          (s) => {
            sender = s;
            send({ t: 'msending', tag: m.tag });
          },
          (err: Error) => send({ t: 'msending', tag: m.tag, error: err.message }),
        );
        break;
      }
      case 'mstop': {
        const sent = sender?.stop() ?? 0;
        sender = null;
        send({ t: 'mstopped', tag: m.tag, sent });
        break;
      }
      case 'exit':
        shutdown();
        break;
    }
  });
  send({ t: 'ready', addresses, pid: process.pid });
}

main().catch((err: Error) => {
  send({ t: 'error', message: `peer failed to start: ${err.stack ?? err.message}` });
  process.exit(1);
});
