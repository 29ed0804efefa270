/**
 * Message mode: one-way messages/s of 64-byte objects through
 * `MessageConn` between two processes, over shared memory and over the
 * TCP fallback (`transport: 'tcp'`), each with MessageConn's default map
 * encoding and with `records: true` (the same object in fewer bytes: see
 * MESSAGE_SERIES).
 *
 * The peer process (peer.ts) is the sender, the bench process the
 * receiver. One sample:
 *
 *   1. the bench listens with a shmnet server (`transport` as asked) and
 *      tells the peer over IPC to connect and send; the peer sends
 *      `message64()` objects with `send()` without pause, honouring
 *      backpressure (wait for 'drain' when `send()` returns false);
 *   2. the bench counts 'message' events and checks that every id arrives,
 *      in order; the count is read once `warmMs` have passed since the
 *      connection and again `ms` later (window.ts, polled every 64
 *      messages): the rate is the messages received in that window over
 *      its length;
 *   3. when the window closes the bench tells the peer to stop; the peer
 *      ends the stream and reports how many it sent, and the bench checks
 *      it received exactly those (so a connection that loses, duplicates or
 *      reorders messages fails the run instead of reporting a rate).
 */
import { once } from 'node:events';
import { connect, createServer, MessageConn, type Conn, type Server } from '../src/index.js';
import { createPackr } from '../src/message/codec.js';
import type { Peer } from './peer-client.js';
import { TimedWindow, withTimeout } from './window.js';

export type MessageTransport = 'shm' | 'tcp';
/** A row of the message table: a transport, and whether both ends use `records: true`. */
export type MessageSeries = MessageTransport | 'shm-records' | 'tcp-records';

/**
 * Ids start here, so every object packs into exactly 64 bytes of
 * MessagePack (ids below 65,536 take a few bytes fewer).
 */
export const MESSAGE_FIRST_ID = 1 << 16;
/** The MessagePack of one message (64) plus MessageConn's 4-byte length prefix. */
export const MESSAGE_FRAME_BYTES = 64 + 4;
export const MESSAGE_PAYLOAD_BYTES = 64;

/** Bytes of one steady-state records frame of message64() (the shape defined already), length prefix included. */
function recordsFrameBytes(): number {
  const p = createPackr(true);
  p.pack(message64(MESSAGE_FIRST_ID)); // the first carries the definition
  return p.pack(message64(MESSAGE_FIRST_ID + 1)).length + 4;
}

export interface MessageSeriesSetup {
  transport: MessageTransport;
  records: boolean;
  /** Bytes on the wire per message, length prefix included. */
  frameBytes: number;
}

const RECORDS_FRAME_BYTES = recordsFrameBytes();
export const MESSAGE_SERIES: Record<MessageSeries, MessageSeriesSetup> = {
  shm: { transport: 'shm', records: false, frameBytes: MESSAGE_FRAME_BYTES },
  tcp: { transport: 'tcp', records: false, frameBytes: MESSAGE_FRAME_BYTES },
  'shm-records': { transport: 'shm', records: true, frameBytes: RECORDS_FRAME_BYTES },
  'tcp-records': { transport: 'tcp', records: true, frameBytes: RECORDS_FRAME_BYTES },
};

/** A 64-byte object (as MessagePack, for ids from 65,536 to 2^32 - 1). */
export function message64(id: number): { id: number; op: string; key: string; ok: boolean; score: number; tags: string[] } {
  return { id, op: 'put', key: 'user:0000123', ok: true, score: 0.5, tags: ['a', 'b'] };
}

export interface MessageSample {
  /** Messages received inside the timed window. */
  messages: number;
  seconds: number;
  messagesPerSec: number;
  /** Frame bytes (MessagePack + length prefix) per second, 10^6. */
  mbps: number;
  /** Bytes of one frame (MessagePack + length prefix) in this series. */
  frameBytes: number;
  nsPerMessage: number;
  /** CPU the bench process (the receiver) used in the window, % of one core. */
  receiverCpu: number;
  /** Messages the peer sent in the whole sample (warm-up, window and the drain after it); all arrived in order. */
  sent: number;
  /** How late the later of the two window readings was, ms (diagnostic: the receiving loop was busy). */
  lateMs: number;
}

// ---- sender (runs in the peer process) ------------------------------------------

/** The sender yields to the event loop after this many messages without backpressure (so a stop can arrive). */
const YIELD_MESSAGES = 1 << 16;

export interface MessageSender {
  /** Stops sending, ends the stream, and returns how many messages were sent. */
  stop(): number;
}

/** Connects to `port` with `transport` and sends (records or maps) until `stop()`. `onError` gets any stream error. */
export async function startMessageSender(port: number, transport: MessageTransport, records: boolean, onError: (err: Error) => void): Promise<MessageSender> {
  const conn = connect({ port, host: '127.0.0.1', transport });
  await once(conn, 'connect');
  if (conn.transport !== transport) {
    conn.destroy();
    throw new Error(`message sender asked for '${transport}' but got '${conn.transport}'`);
  }
  const mc = new MessageConn(conn, { records });
  mc.on('error', onError);
  const msg = message64(MESSAGE_FIRST_ID);
  let id = MESSAGE_FIRST_ID;
  let stopped = false;
  // Counted across 'drain's: when a write completes at once, 'drain' comes
  // on the next tick, and a sender that only ever resumed from there would
  // never give the event loop (and the stop request) a turn.
  let n = 0;
  const pump = (): void => {
    while (!stopped) {
      msg.id = id++;
      if (++n === YIELD_MESSAGES) {
        n = 0;
        if (mc.send(msg)) setImmediate(pump);
        else mc.once('drain', () => setImmediate(pump));
        return;
      }
      if (!mc.send(msg)) {
        mc.once('drain', pump);
        return;
      }
    }
  };
  pump();
  return {
    stop() {
      stopped = true;
      mc.end();
      return id - MESSAGE_FIRST_ID;
    },
  };
}

// ---- receiver (the bench process) ------------------------------------------------

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

/** One sample of message mode in `series`: the peer sends, this process receives. */
export async function messageOneWay(peer: Peer, series: MessageSeries, warmMs: number, ms: number): Promise<MessageSample> {
  const { transport, records, frameBytes } = MESSAGE_SERIES[series];
  const server = createServer({ transport });
  let mc: MessageConn | null = null;
  /** The peer is sending and has not been told to stop. */
  let sending = false;
  try {
    const port = await listen(server);
    const limit = warmMs + ms + 30_000;
    const [[conn]] = await withTimeout(
      Promise.all([once(server, 'connection') as Promise<[Conn]>, peer.startMessages(port, transport, records).then(() => (sending = true))]),
      limit,
      `message ${transport}: connecting`,
    );
    if (conn.transport !== transport) throw new Error(`message ${transport}: the connection is '${conn.transport}'`);
    const rx = new MessageConn(conn, { records });
    mc = rx;
    let next = MESSAGE_FIRST_ID;
    let failure: Error | null = null;
    let stopping = null as Promise<number> | null;
    // The peer is told to stop from inside the delivery loop (see window.ts).
    const win = new TimedWindow(() => next, warmMs, ms, () => {
      sending = false;
      stopping = peer.stopMessages();
      stopping.catch(() => {});
    });
    const done = new Promise<void>((resolve, reject) => {
      rx.on('message', (m: { id: number }) => {
        if (m.id !== next && failure === null) {
          failure = new Error(`message ${transport}: message ${next - MESSAGE_FIRST_ID} arrived with id ${m.id - MESSAGE_FIRST_ID}`);
          reject(failure);
        }
        if ((++next & 63) === 0) win.poll();
      });
      rx.once('end', resolve);
      rx.once('error', reject);
    });
    done.catch(() => {}); // observed below; keeps an early failure from being unhandled meanwhile
    let w;
    try {
      w = await withTimeout(
        Promise.race([win.result, done.then(() => Promise.reject(new Error(`message ${transport}: the stream ended early`)))]),
        limit,
        `message ${transport}`,
      );
    } finally {
      win.cancel();
    }
    const sent = await withTimeout(stopping!, limit, `message ${transport}: stopping the sender`);
    await withTimeout(done, limit, `message ${transport}: draining`);
    const received = next - MESSAGE_FIRST_ID;
    if (received !== sent) throw new Error(`message ${transport}: the peer sent ${sent} messages, ${received} arrived`);
    if (w.count <= 0) throw new Error(`message ${transport}: no message arrived in the timed window`);
    const seconds = w.ms / 1000;
    const rate = w.count / seconds;
    return {
      messages: w.count,
      seconds,
      messagesPerSec: rate,
      mbps: (rate * frameBytes) / 1e6,
      frameBytes,
      nsPerMessage: 1e9 / rate,
      receiverCpu: (w.cpuUs / 1e3 / w.ms) * 100,
      sent,
      lateMs: win.lateMs,
    };
  } finally {
    if (sending) await peer.stopMessages().catch(() => 0);
    if (mc !== null) {
      const c = mc.conn;
      if (!c.destroyed) {
        const closed = once(c, 'close').catch(() => undefined);
        mc.end();
        const timer = setTimeout(() => c.destroy(), 2000);
        await closed;
        clearTimeout(timer);
      }
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
