/**
 * zeromq (zeromq.js, libzmq) over `ipc://`, the peer library people pick
 * for fast local messaging. Both halves live here:
 *
 *   - peer side (peer.ts): a Pull socket that counts what arrives, as the
 *     other transports' sinks do, and a Reply socket that sends every
 *     request back;
 *   - bench side: a Push socket as a throughput channel, written with
 *     zeromq's own API (`await push.send(chunk)`, one message per chunk,
 *     zeromq's default high-water mark as its backpressure), and a Request
 *     socket as a round-trip exchanger (`send`, then `receive`).
 *
 * A Pull socket cannot tell its senders apart, so each Push channel first
 * sends a two-frame message `[ZMQ_HELLO, preamble]` naming its stream id;
 * payload messages have one frame. Channels are used one at a time.
 */
import type * as Zmq from 'zeromq';
import type { Exchanger } from './latency.js';
import { requirePeer } from './optional.js';
import type { Peer } from './peer-client.js';
import { MODE_SINK, parsePreamble, preamble, PREAMBLE_SIZE } from './protocol.js';
import type { Channel, Transport } from './transports.js';

type ZmqModule = typeof Zmq;
const ZMQ_HELLO = Buffer.from('shmnet-bench');

export interface ZmqAddresses {
  /** Pull socket: throughput sink. */
  pull: string;
  /** Reply socket: echo. */
  rep: string;
}

// ---- peer side ----------------------------------------------------------------

/** Binds the sink and the echo in the peer process; `sink(id)` gets the byte counter of a stream id. */
export async function startZmqPeer(
  dir: string,
  sink: (id: number) => { add(n: number): void },
  onError: (err: Error) => void,
): Promise<{ addresses: ZmqAddresses; close(): void }> {
  const zmq = await requirePeer<ZmqModule>('zeromq');
  const addresses = { pull: `ipc://${dir}/zmq-pull`, rep: `ipc://${dir}/zmq-rep` };
  const pull = new zmq.Pull({ linger: 0 });
  const rep = new zmq.Reply({ linger: 0 });
  await pull.bind(addresses.pull);
  await rep.bind(addresses.rep);
  let closing = false;
  const fail = (err: Error) => {
    if (!closing) onError(err);
  };
  void (async () => {
    let current: { add(n: number): void } | null = null;
    for await (const frames of pull) {
      if (frames.length === 2 && frames[0]!.equals(ZMQ_HELLO) && frames[1]!.length === PREAMBLE_SIZE) {
        const { mode, id } = parsePreamble(frames[1]!);
        if (mode !== MODE_SINK) throw new Error(`zeromq pull: unexpected preamble mode ${mode}`);
        current = sink(id);
      } else if (current === null) {
        throw new Error('zeromq pull: payload before any preamble');
      } else {
        for (const f of frames) current.add(f.length);
      }
    }
  })().catch(fail);
  void (async () => {
    for await (const [m] of rep) await rep.send(m!);
  })().catch(fail);
  return {
    addresses,
    close() {
      closing = true;
      pull.close();
      rep.close();
    },
  };
}

// ---- bench side ---------------------------------------------------------------

let nextId = 1 << 24;

/** Push channel: the throughput harness calls `writeUntil`, zeromq's API has no 'drain'. */
export const ZMQ_PUSH: Transport = {
  key: 'zeromq',
  label: 'zeromq push/pull (ipc)',
  async open(peer: Peer, mode: number): Promise<Channel> {
    const zmq = await requirePeer<ZmqModule>('zeromq');
    const addr = peer.addresses.zeromq;
    if (addr === undefined) throw new Error('the bench peer has no zeromq sockets');
    const push = new zmq.Push({ linger: 0 });
    push.connect(addr.pull);
    const id = nextId++;
    await push.send([ZMQ_HELLO, preamble(mode, id)]);
    const ch: Channel = {
      id,
      stream: null,
      written: 0,
      async writeUntil(chunk: Buffer, deadline: number): Promise<void> {
        const n = chunk.length;
        while (performance.now() < deadline) {
          for (let i = 0; i < 8; i++) {
            ch.written += n;
            await push.send(chunk);
          }
        }
      },
      async close() {
        push.close();
      },
    };
    return ch;
  },
};

/** Request socket: one `size`-byte request, its reply, the next. */
export async function zmqExchanger(peer: Peer, size: number): Promise<Exchanger> {
  const zmq = await requirePeer<ZmqModule>('zeromq');
  const addr = peer.addresses.zeromq;
  if (addr === undefined) throw new Error('the bench peer has no zeromq sockets');
  const req = new zmq.Request({ linger: 0 });
  req.connect(addr.rep);
  const msg = Buffer.alloc(size, 0x33);
  return {
    exchange(done) {
      req
        .send(msg)
        .then(() => req.receive())
        .then(([r]) => done(r!.length === size ? undefined : new Error(`zeromq reply of ${r!.length} bytes, expected ${size}`)), done);
    },
    async close() {
      req.close();
    },
  };
}
