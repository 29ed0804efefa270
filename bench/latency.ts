/**
 * Round trips: one request, wait for its whole answer, the next at once.
 * The same timing code serves every transport and library: a byte stream
 * echoing `size` bytes (ping-pong on a Conn or a socket), a zeromq
 * req/rep pair, a MessageConn request, a gRPC unary call, a piscina task.
 * Each round trip is timed with performance.now(), so a sample is
 * application-to-application and includes both event loops, as a user
 * would see it.
 */
import type { Peer } from './peer-client.js';
import { MODE_ECHO } from './protocol.js';
import { median, quantile } from './stats.js';
import type { Channel, Transport } from './transports.js';

export interface LatencySample {
  roundTrips: number;
  /** Length of the timed part, s. */
  seconds: number;
  /** Round trips completed per second in the timed part (one in flight). */
  perSec: number;
  /** µs */
  median: number;
  p99: number;
  min: number;
  mean: number;
}

/** One request/response pair at a time over something already open. */
export interface Exchanger {
  /** Sends one request; calls `done` once its whole answer is back, or with an error. */
  exchange(done: (err?: Error) => void): void;
  close(): Promise<void>;
}

const MAX_ROUND_TRIPS = 1 << 20;

/** The callback of the one request in flight: `settle` calls it once, later answers find nothing waiting. */
export class InFlight {
  #done: ((err?: Error) => void) | null = null;
  start(done: (err?: Error) => void): void {
    this.#done = done;
  }
  readonly settle = (err?: Error): void => {
    const cb = this.#done;
    this.#done = null;
    cb?.(err);
  };
}

/** Exchanges on `ex` until `deadline`; returns the round-trip times in ms. */
function timeTrips(ex: Exchanger, deadline: number, maxTrips: number): Promise<Float64Array> {
  const times = new Float64Array(maxTrips);
  return new Promise((resolve, reject) => {
    let n = 0;
    let t = 0;
    const next = (err?: Error): void => {
      if (err) return reject(err);
      const now = performance.now();
      times[n++] = now - t;
      if (now >= deadline || n === maxTrips) return resolve(times.subarray(0, n));
      t = performance.now();
      ex.exchange(next);
    };
    t = performance.now();
    ex.exchange(next);
  });
}

/** One sample: open, exchange for `warmMs` (discarded), then for `ms`, close. */
export async function roundTrips(open: () => Promise<Exchanger>, warmMs: number, ms: number): Promise<LatencySample> {
  const ex = await open();
  try {
    await timeTrips(ex, performance.now() + warmMs, MAX_ROUND_TRIPS);
    const t0 = performance.now();
    const times = await timeTrips(ex, t0 + ms, MAX_ROUND_TRIPS);
    const seconds = (performance.now() - t0) / 1000;
    const us = Float64Array.from(times, (x) => x * 1000).sort();
    let sum = 0;
    for (const x of us) sum += x;
    return {
      roundTrips: us.length,
      seconds,
      perSec: us.length / seconds,
      median: median(us),
      p99: quantile(us, 0.99),
      min: us[0]!,
      mean: sum / us.length,
    };
  } finally {
    await ex.close();
  }
}

/** Ping-pong on a byte stream whose far end echoes: `size` bytes out, the round trip ends when all `size` are back. */
export function streamExchanger(ch: Channel, size: number): Exchanger {
  const s = ch.stream;
  if (s === null) throw new Error(`channel ${ch.id} is not a stream`);
  const msg = Buffer.alloc(size, 0x33);
  let missing = 0;
  const flight = new InFlight();
  const settle = flight.settle;
  const onData = (d: Buffer) => {
    missing -= d.length;
    if (missing > 0) return;
    if (missing < 0) return settle(new Error(`echo returned ${-missing} bytes too many`));
    settle();
  };
  s.on('data', onData);
  s.on('error', settle);
  return {
    exchange(done) {
      flight.start(done);
      missing = size;
      s.write(msg);
    },
    close() {
      s.off('data', onData);
      s.off('error', settle);
      return ch.close();
    },
  };
}

export function roundTrip(peer: Peer, transport: Transport, size: number, warmMs: number, ms: number): Promise<LatencySample> {
  return roundTrips(async () => streamExchanger(await transport.open(peer, MODE_ECHO), size), warmMs, ms);
}
