/**
 * The transports under test, one connect function each. Everything else
 * (throughput.ts, latency.ts) drives a `Channel` and does not know which
 * transport it holds.
 */
import { once } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex, Writable } from 'node:stream';
import { connect, type Conn } from '../src/index.js';
import type { Peer } from './peer-client.js';
import { preamble } from './protocol.js';

export type TransportKey = 'shm' | 'shm-park' | 'shm-onread' | 'shm-lanes' | 'tcp' | 'unix' | 'pipe' | 'zeromq';

/** One stream to the peer, after its preamble. */
export interface Channel {
  readonly id: number;
  /** The stream under test; null for a library whose API is not a stream (it brings `writeUntil`). */
  readonly stream: Duplex | Writable | null;
  /** Bytes of payload written so far (cumulative: the pipe channel lives across samples). */
  written: number;
  /**
   * Writes `chunk` as fast as the library's own backpressure allows until
   * `deadline` (performance.now()), counting into `written`. Absent for
   * streams: throughput.ts writes them with write()/'drain'.
   */
  writeUntil?(chunk: Buffer, deadline: number): Promise<void>;
  close(): Promise<void>;
}

export interface Transport {
  readonly key: TransportKey;
  /** Row / series label. */
  readonly label: string;
  /** Opens a stream to the peer in `mode` (protocol.ts) and sends the preamble. */
  open(peer: Peer, mode: number): Promise<Channel>;
}

let nextId = 1;

/** Ends `s` (by `end`, default `s.end()`), reads to the peer's end and waits for 'close'; destroys it after 2 s. */
export async function closeStream(s: Duplex | Writable, end: () => void = () => s.end()): Promise<void> {
  if (s.destroyed) return;
  const closed = once(s, 'close').catch(() => undefined);
  // Read to the peer's end so 'end' (and then 'close') can happen.
  if ('resume' in s && typeof s.resume === 'function') s.resume();
  end();
  const timer = setTimeout(() => s.destroy(), 2000);
  await closed;
  clearTimeout(timer);
}

async function streamChannel(stream: Duplex, mode: number): Promise<Channel> {
  const id = nextId++;
  stream.write(preamble(mode, id));
  return { id, stream, written: 0, close: () => closeStream(stream) };
}

async function openConn(port: number, spin: number | undefined, mode: number): Promise<Channel> {
  const conn: Conn = connect(spin === undefined ? { port, host: '127.0.0.1' } : { port, host: '127.0.0.1', spin });
  await once(conn, 'connect');
  if (conn.transport !== 'shm') {
    conn.destroy();
    throw new Error(`shmnet fell back to '${conn.transport}': shared memory is unavailable here, so there is nothing to measure`);
  }
  return streamChannel(conn, mode);
}

async function openNet(opts: { port: number; host: string } | { path: string }, mode: number): Promise<Channel> {
  const s: Socket = netConnect(opts);
  s.setNoDelay(true);
  await once(s, 'connect');
  return streamChannel(s, mode);
}

export const SHM: Transport = {
  key: 'shm',
  label: 'shmnet',
  open: (peer, mode) => openConn(peer.addresses.shmPort, undefined, mode),
};

/** shmnet with `spin: 0` on both sides: parks at once, every wake-up is a doorbell. */
export const SHM_PARK: Transport = {
  key: 'shm-park',
  label: 'shmnet spin:0',
  open: (peer, mode) => openConn(peer.addresses.shmPark, 0, mode),
};

/** shmnet, the peer receiving through `onread` into one reused buffer. */
export const SHM_ONREAD: Transport = {
  key: 'shm-onread',
  label: 'shmnet onread',
  open: (peer, mode) => openConn(peer.addresses.shmOnread, undefined, mode),
};

/** A lane writer yields to the event loop after this many bytes without waiting (as throughput.ts's stream writer). */
const LANE_YIELD_BYTES = 4 << 20;

/**
 * Copies `chunk` into claimed views of the TX ring (as many as it takes)
 * and commits each, until `deadline`; counts whole chunks into `ch.written`.
 */
function claimUntil(conn: Conn, ch: { written: number }, chunk: Buffer, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let off = 0;
    const onError = (err: Error) => {
      conn.off('claimable', pump);
      reject(err);
    };
    conn.once('error', onError);
    function pump(): void {
      let burst = 0;
      while (performance.now() < deadline) {
        while (off < chunk.length) {
          const v = conn.claim(chunk.length - off);
          if (v === null) {
            if (!conn.destroyed) conn.once('claimable', pump);
            return;
          }
          v.set(chunk.subarray(off, off + v.length));
          conn.commit(v.length);
          off += v.length;
        }
        off = 0;
        ch.written += chunk.length;
        burst += chunk.length;
        if (burst >= LANE_YIELD_BYTES) {
          setImmediate(pump);
          return;
        }
      }
      conn.off('error', onError);
      resolve();
    }
    // The preamble went out as a stream write: a claim waits for it to leave.
    if (conn.writableLength > 0) conn.once('drain', pump);
    else pump();
  });
}

/** shmnet zero-copy lanes: the writer fills claimed ring views, the peer borrows them in place. */
export const SHM_LANES: Transport = {
  key: 'shm-lanes',
  label: 'shmnet claim+borrow',
  async open(peer, mode) {
    const ch = await openConn(peer.addresses.shmLanes, undefined, mode);
    const conn = ch.stream as Conn;
    ch.writeUntil = (chunk, deadline) => claimUntil(conn, ch, chunk, deadline);
    return ch;
  },
};

export const TCP: Transport = {
  key: 'tcp',
  label: 'TCP',
  open: (peer, mode) => openNet({ port: peer.addresses.tcpPort, host: '127.0.0.1' }, mode),
};

export const UNIX: Transport = {
  key: 'unix',
  label: 'Unix socket',
  open: (peer, mode) => openNet({ path: peer.addresses.unixPath }, mode),
};

/**
 * The peer's stdin (a pipe made by child_process). There is one, so the
 * channel is opened once and kept; `close()` leaves it open.
 */
const pipeChannels = new WeakMap<Peer, Channel>();
export const PIPE: Transport = {
  key: 'pipe',
  label: 'Pipe',
  async open(peer, mode) {
    let ch = pipeChannels.get(peer);
    if (!ch) {
      const id = nextId++;
      peer.stdin.write(preamble(mode, id));
      ch = { id, stream: peer.stdin, written: 0, close: async () => {} };
      pipeChannels.set(peer, ch);
    }
    return ch;
  },
};
