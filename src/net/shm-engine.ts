/**
 * The shared-memory engine of a Conn between two processes: bytes go
 * through two SPSC rings in the connection's region, moved by a
 * `RingPump` (../stream/ring-pump.ts); this file gives it its signals:
 * the control socket carries only doorbells and tells us when the peer is
 * gone.
 *
 * ## Doorbells
 *
 * A parked Conn sleeps until the peer rings the doorbell: a byte on the
 * control socket, whose 'data' listener is always attached. The peer rings
 * only when it finds our parked flag set, so under load bells are rare.
 * FIN is always rung: cheap once, and the peer may be parked or paused.
 *
 * ## Liveness
 *
 * The control socket closing is the peer's last word: if the peer's FIN is
 * in our RX ring the close is orderly (we still drain what is left);
 * otherwise the peer died and the Conn is destroyed with
 * `SHMNET_ERR_PEER_GONE`.
 *
 * Socket listeners are module-level functions that find their engine
 * through a symbol, so no closure is created per connection (as ws does;
 * see control-socket.ts).
 */
import type { Socket } from 'node:net';
import { ringCorrupt } from '../errors.js';
import type { MappedRegion } from '../mapping/region.js';
import { MIN_CAPACITY, RING_CONTROL_SIZE } from '../ring/layout.js';
import { openEnds } from '../ring/region.js';
import { RingConsumer, RingProducer } from '../ring/ring.js';
import type { Conn } from '../stream/conn.js';
import { RingPump, type RingSignals } from '../stream/ring-pump.js';
import { listenToSocket, stopListening, type SocketListeners } from './control-socket.js';

/** Bells are skipped while this much is queued on a peer that does not read its socket. */
const MAX_BELL_BACKLOG = 64 * 1024;
const BELL = Buffer.from([0x62]);

const kEngine = Symbol('shmnet.shmEngine');
type EngineSocket = Socket & { [kEngine]?: ShmSignals };

function socketOnData(this: EngineSocket, chunk: Buffer): void {
  this[kEngine]?.onBell(chunk.length);
}

function socketOnEnd(this: EngineSocket): void {
  this[kEngine]?.onSocketGone(null);
}

function socketOnClose(this: EngineSocket): void {
  this[kEngine]?.onSocketGone(null);
}

function socketOnError(this: EngineSocket, err: Error): void {
  this[kEngine]?.onSocketGone(err);
}

const listeners: SocketListeners = { data: socketOnData, end: socketOnEnd, close: socketOnClose, error: socketOnError };

export interface ShmEngineInit {
  conn: Conn;
  socket: Socket;
  region: MappedRegion;
  capacity: number;
  /** The server writes ring S2C and reads ring C2S; the client the reverse. */
  role: 'server' | 'client';
  /** µs to poll before parking. */
  spin: number;
  /** Bytes that followed the handshake: doorbells. */
  rest: Buffer;
  /** How the region was shared: a named POSIX object (unlinked after ACK) or a memfd passed over the socket. */
  segment?: 'named' | 'memfd';
}

/** The ring handles over the region, or over a spare ring when the peer already corrupted them. */
function openRings(init: ShmEngineInit): { tx: RingProducer; rx: RingConsumer; startError: Error | null } {
  try {
    const { tx, rx } = openEnds(init.region.buffer, init.capacity, init.role);
    // Only we write FIN on our ring, and we have not yet.
    return { tx, rx, startError: tx.ended ? ringCorrupt('the peer set the end-of-stream flag of our own ring') : null };
  } catch (err) {
    // The peer has had the region mapped since MAPINFO and already wrote
    // impossible counters. Handles over a private empty ring keep every
    // method safe; the pump starts FAILED (see ring-pump.ts, "States"), so
    // this reaches the app as any corruption found later does.
    const spare = new ArrayBuffer(2 * (RING_CONTROL_SIZE + MIN_CAPACITY));
    return {
      tx: new RingProducer(spare, 0, RING_CONTROL_SIZE, MIN_CAPACITY),
      rx: new RingConsumer(spare, RING_CONTROL_SIZE + MIN_CAPACITY, 2 * RING_CONTROL_SIZE + MIN_CAPACITY, MIN_CAPACITY),
      startError: err as Error,
    };
  }
}

/** The Conn's engine over the region: a ring pump with the control socket as its signals. */
export function createShmEngine(init: ShmEngineInit): RingPump {
  const { tx, rx, startError } = openRings(init);
  const pump = new RingPump({ conn: init.conn, transport: 'shm', tx, rx, spin: init.spin, noun: 'connection', trackPeaks: true, startError });
  pump.start(new ShmSignals(pump, init));
  return pump;
}

/** The control socket as a ring pump's doorbell and liveness signal. */
class ShmSignals implements RingSignals {
  readonly #pump: RingPump;
  readonly #socket: EngineSocket;
  #region: MappedRegion | null;
  readonly #segment: 'named' | 'memfd';
  #peerLeft = false;

  // counters for stats()
  #bellsSent = 0;
  #bellsReceived = 0;

  #refed = true;
  #waiting = true;

  constructor(pump: RingPump, init: ShmEngineInit) {
    this.#pump = pump;
    this.#socket = init.socket as EngineSocket;
    this.#region = init.region;
    this.#segment = init.segment ?? 'named';
    const s = this.#socket;
    s[kEngine] = this;
    listenToSocket(s, listeners);
    s.resume();
    if (init.rest.length > 0) this.#bellsReceived += init.rest.length;
  }

  // ---- socket events (module-level listeners call these) -------------------

  /** A doorbell: something changed in one of the rings. */
  onBell(n: number): void {
    this.#bellsReceived += n;
    this.#pump.onWake();
  }

  /** The control socket ended, closed or failed. */
  onSocketGone(err: Error | null): void {
    if (this.#peerLeft) return;
    this.#peerLeft = true;
    const why = err ? `: ${err.message}` : '';
    this.#pump.peerLeft(`the peer went away without ending the stream${why}`);
  }

  // ---- RingSignals -----------------------------------------------------------

  wake(): void {
    const s = this.#socket;
    if (this.#peerLeft || s.destroyed || s.writableLength > MAX_BELL_BACKLOG) return;
    this.#bellsSent++;
    s.write(BELL);
  }

  /** The bell arrives on the control socket, which is always listened to. */
  sleep(): boolean {
    return false;
  }

  /** The socket's events report the close (onSocketGone); nothing to poll. */
  pollPeerClosed(): boolean {
    return false;
  }

  // As a net.Socket's handle: the control socket keeps the event loop alive
  // only while the Conn is ref'd AND waits for something (data it wants, or
  // space for a pending write); a paused or ended Conn does not.
  waiting(on: boolean): void {
    if (on === this.#waiting) return;
    this.#waiting = on;
    this.#applyRef();
  }

  release(_graceful: boolean): void {
    const s = this.#socket;
    stopListening(s, listeners);
    delete s[kEngine];
    // A closed Conn holds nothing: the peer learns of the close from FIN in
    // its ring (then the socket's close), not from a half-open socket.
    s.destroy();
    // Drop our reference; the memory is unmapped once both sides let go.
    this.#region?.close();
    this.#region = null;
  }

  ref(): void {
    this.#refed = true;
    this.#applyRef();
  }

  unref(): void {
    this.#refed = false;
    this.#applyRef();
  }

  #applyRef(): void {
    if (this.#refed && this.#waiting) this.#socket.ref();
    else this.#socket.unref();
  }

  stats(): { segment: 'named' | 'memfd'; doorbellsSent: number; doorbellsReceived: number } {
    return { segment: this.#segment, doorbellsSent: this.#bellsSent, doorbellsReceived: this.#bellsReceived };
  }
}
