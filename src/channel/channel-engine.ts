/**
 * The engine of a worker channel's Conn: the same two SPSC rings as a
 * shared-memory connection, between two threads of one process, with
 * `Atomics.waitAsync`/`Atomics.notify` on the rings' parked words as the
 * doorbell instead of a byte on a control socket.
 *
 * ## Parking
 *
 * The pump is a `RingPump` (../stream/ring-pump.ts): flush, drain,
 * wake the peer if it parked, then stop, spin (setImmediate turns for
 * `spin` µs) or park. Parking sets the parked flag, re-checks (the ring's
 * park() closes the lost-wake-up race) and then `Atomics.waitAsync`s on
 * the flag word while it is still 1. The peer clears the flag
 * (consumerNeedsWake/producerNeedsWake) and notifies; a waiter whose flag
 * was cleared before it was registered returns at once ('not-equal').
 * Every resolved wait runs the pump.
 *
 * ## Keeping the event loop alive
 *
 * A pending waitAsync does not keep a thread's event loop alive. The
 * engine owns one timer (the liveness probe below) and refs it exactly
 * while the Conn is ref'd and waiting for data or space, the way an
 * active socket handle is; otherwise it is unref'd, and an idle or
 * `unref()`ed channel lets its thread exit.
 *
 * ## Liveness (no MessagePort, no heartbeat from the peer)
 *
 * The port objects are plain data, so a thread's termination is detected
 * through the rings' memory alone. Each side keeps LIVENESS_WAITERS
 * `waitAsync` waiters on its `alive` word (layout.ts) and re-arms one
 * whenever one is woken, counting re-arms in `rearmed`. Every
 * PROBE_INTERVAL_MS the other side probes with `Atomics.notify(alive, 1)`:
 * it returns 1 while the thread lives and 0 once it has terminated,
 * because V8 drops the async waiters of a thread that goes away. A probe
 * that finds no waiter although `answered - rearmed` says some must be
 * registered means the thread is gone: unless its `closed` word says it
 * closed on purpose, the Conn is destroyed with `SHMNET_ERR_PEER_GONE`.
 *
 * A thread stuck in synchronous code does not re-arm, so the prober backs
 * off (doubling the gap between probes that use up a waiter) and never
 * concludes anything from a thread that merely does not run: with 16
 * waiters a thread may stay busy for hours without a false alarm. Only a
 * thread that terminates after being busy for longer than that goes
 * unnoticed until its memory says so. Closing on purpose needs no probe:
 * `destroy()` publishes FIN, stores `closed`, and notifies every word
 * the peer may wait on.
 */
import { ringCorrupt } from '../errors.js';
import { openEnds } from '../ring/region.js';
import type { RingConsumer, RingProducer } from '../ring/ring.js';
import type { Conn } from '../stream/conn.js';
import { RingPump, type RingSignals } from '../stream/ring-pump.js';
import {
  ALIVE_INDEX,
  CHANNEL_WORD_COUNT,
  CHANNEL_WORDS_OFFSET,
  CLOSED_INDEX,
  LIVENESS_WAITERS,
  OPENED_INDEX,
  OPENED_LIVE,
  REARMED_INDEX,
} from './layout.js';

type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
/** `Atomics.waitAsync` (in Node since 16; typed only from lib ES2024, and we build against ES2022). */
const waitAsync = (Atomics as unknown as { waitAsync(ta: Int32Array, index: number, value: number): WaitAsyncResult }).waitAsync;

/** How often each side checks that the other's thread still lives. */
export const PROBE_INTERVAL_MS = 250;

export interface ChannelEngineInit {
  conn: Conn;
  buffer: SharedArrayBuffer;
  capacity: number;
  /** 0 writes ring C2S and reads S2C; 1 the reverse. */
  side: 0 | 1;
  /** µs to poll before parking. */
  spin: number;
}

/** The Conn's engine for one end of a channel: a ring pump with the channel words as its signals. */
export function createChannelEngine(init: ChannelEngineInit): RingPump {
  const { tx, rx } = openEnds(init.buffer, init.capacity, init.side === 0 ? 'client' : 'server');
  const pump = new RingPump({ conn: init.conn, transport: 'channel', tx, rx, spin: init.spin, noun: 'channel', trackPeaks: false, startError: null });
  pump.start(new ChannelSignals(pump, init.conn, tx, rx, init));
  return pump;
}

class ChannelSignals implements RingSignals {
  readonly #pump: RingPump;
  readonly #conn: Conn;
  readonly #tx: RingProducer;
  readonly #rx: RingConsumer;
  #closed = false;
  #peerClosed = false;
  readonly #words: Int32Array;
  readonly #side: number;
  readonly #peer: number;

  /** A waitAsync is pending on the RX ring's consumerParked / the TX ring's producerParked. */
  #rxWaitPending = false;
  #txWaitPending = false;

  /** The probe timer doubles as the handle that keeps the loop alive. */
  #timer: NodeJS.Timeout | null = null;
  #refed = true;
  #waiting = false;
  /** Probes that woke one of the peer's liveness waiters (Int32, wraps). */
  #answered = 0;
  #lastProbe = 0;
  #backoff = PROBE_INTERVAL_MS;

  // counters for stats()
  #wakesSent = 0;
  #wakesReceived = 0;
  #probes = 0;

  readonly #onRxWake = (): void => {
    this.#rxWaitPending = false;
    this.#wakesReceived++;
    this.#pump.onWake();
  };
  readonly #onTxWake = (): void => {
    this.#txWaitPending = false;
    this.#wakesReceived++;
    this.#pump.onWake();
  };
  readonly #runProbe = (): void => {
    this.#timer = null;
    this.#probe();
  };
  readonly #onLivenessWake = (): void => {
    if (this.#closed) return;
    const r = waitAsync(this.#words, ALIVE_INDEX + this.#side, 0);
    if (r.async) void r.value.then(this.#onLivenessWake);
    // SYNC POINT with the peer in #probe(): the replacement waiter is
    // registered before the count says so.
    Atomics.add(this.#words, REARMED_INDEX + this.#side, 1);
  };

  /** The caller has claimed `opened[side]` (OPENED_CLAIMED). */
  constructor(pump: RingPump, conn: Conn, tx: RingProducer, rx: RingConsumer, init: ChannelEngineInit) {
    this.#pump = pump;
    this.#conn = conn;
    this.#tx = tx;
    this.#rx = rx;
    this.#side = init.side;
    this.#peer = 1 - init.side;
    this.#words = new Int32Array(init.buffer, CHANNEL_WORDS_OFFSET, CHANNEL_WORD_COUNT);

    for (let i = 0; i < LIVENESS_WAITERS; i++) {
      const r = waitAsync(this.#words, ALIVE_INDEX + this.#side, 0);
      if (r.async) void r.value.then(this.#onLivenessWake);
    }
    // SYNC POINT with the peer in #probe(): it probes only once it sees
    // OPENED_LIVE, by which time every waiter above is registered.
    Atomics.store(this.#words, OPENED_INDEX + this.#side, OPENED_LIVE);
    this.#armProbe();
  }

  ref(): void {
    this.#refed = true;
    this.#applyRef();
  }

  unref(): void {
    this.#refed = false;
    this.#applyRef();
  }

  // ---- RingSignals -----------------------------------------------------------

  /** The peer's reader or writer parked (its flag is cleared), or FIN went out: notify both words it may sleep on. */
  wake(): void {
    this.#wakesSent++;
    this.#tx.wakePeer();
    this.#rx.wakePeer();
  }

  sleep(read: boolean, write: boolean): boolean {
    let ready = false;
    if (read && !this.#rxWaitPending) {
      this.#rxWaitPending = this.#rx.sleep(this.#onRxWake);
      if (!this.#rxWaitPending) ready = true;
    }
    if (write && !this.#txWaitPending) {
      this.#txWaitPending = this.#tx.sleep(this.#onTxWake);
      if (!this.#txWaitPending) ready = true;
    }
    return ready;
  }

  /** True (and reported to the pump) once the peer closed its end on purpose. */
  pollPeerClosed(): boolean {
    if (this.#peerClosed) return true;
    // SYNC POINT with the peer's release(): closed is stored after its FIN.
    if (Atomics.load(this.#words, CLOSED_INDEX + this.#peer) === 0) return false;
    this.#onPeerClosed(false);
    return true;
  }

  waiting(waiting: boolean): void {
    if (waiting === this.#waiting) return;
    this.#waiting = waiting;
    this.#applyRef();
  }

  release(): void {
    this.#closed = true;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const w = this.#words;
    // SYNC POINT with the peer in checkPeerClosed()/#probe(): stored after
    // FIN (destroy() published it), before our waiters go away, so a peer
    // that finds no waiter sees it.
    Atomics.store(w, CLOSED_INDEX + this.#side, 1);
    // Wake the peer wherever it may wait on us, and release our own waiters
    // (each parked word has waiters of one side only).
    this.#tx.wakePeer();
    this.#rx.wakePeer();
    this.#rx.wakeSelf();
    this.#tx.wakeSelf();
    Atomics.notify(w, ALIVE_INDEX + this.#side);
  }

  stats(): { channel: true; side: number; wakesSent: number; wakesReceived: number; livenessProbes: number } {
    return { channel: true, side: this.#side, wakesSent: this.#wakesSent, wakesReceived: this.#wakesReceived, livenessProbes: this.#probes };
  }

  // ---- liveness ----------------------------------------------------------------

  #applyRef(): void {
    const t = this.#timer;
    if (t === null) return;
    if (this.#refed && this.#waiting) t.ref();
    else t.unref();
  }

  #armProbe(): void {
    if (this.#closed || this.#peerClosed) return;
    this.#timer = setTimeout(this.#runProbe, PROBE_INTERVAL_MS);
    this.#applyRef();
  }

  #probe(): void {
    if (this.#closed || this.pollPeerClosed()) return;
    const w = this.#words;
    // SYNC POINT with the peer's constructor: its waiters exist once it is live.
    if (Atomics.load(w, OPENED_INDEX + this.#peer) === OPENED_LIVE) {
      // SYNC POINT with the peer's #onLivenessWake(): each re-arm is counted
      // after the new waiter is registered.
      const rearmed = Atomics.load(w, REARMED_INDEX + this.#peer);
      const outstanding = (this.#answered - rearmed) | 0;
      if (outstanding < 0 || outstanding > LIVENESS_WAITERS) {
        this.#conn.destroy(ringCorrupt(`channel liveness count ${rearmed} is ahead of ${this.#answered} probes or too far behind`));
        return;
      }
      const now = performance.now();
      let probe = false;
      if (outstanding === 0) {
        this.#backoff = PROBE_INTERVAL_MS;
        probe = true;
      } else if (outstanding < LIVENESS_WAITERS && now - this.#lastProbe >= this.#backoff) {
        // The peer's event loop has not run since an earlier probe: it is
        // busy (or gone). Probe less and less often, keeping waiters in hand.
        this.#backoff *= 2;
        probe = true;
      }
      if (probe) {
        this.#probes++;
        this.#lastProbe = now;
        // SYNC POINT with the peer's waiters on `alive`: 0 woken although
        // `outstanding` < LIVENESS_WAITERS means its thread has terminated,
        // unless it closed on purpose just now (destroy() stores closed first).
        if (Atomics.notify(w, ALIVE_INDEX + this.#peer, 1) === 0) {
          if (!this.pollPeerClosed()) this.#onPeerClosed(true);
          return;
        }
        this.#answered = (this.#answered + 1) | 0;
      }
    }
    this.#armProbe();
  }

  /** The peer closed its end (`terminated`: its thread is gone without closing). */
  #onPeerClosed(terminated: boolean): void {
    this.#peerClosed = true;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const why = terminated ? 'the peer thread terminated' : 'the peer closed the channel';
    this.#pump.peerLeft(`${why} without ending the stream`);
  }
}
