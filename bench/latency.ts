/**
 * Round-trip latency: ping-pong of one small message, the same code for
 * every transport. The bench writes `size` bytes, the peer (echo mode)
 * writes them back, and the round trip ends when all `size` bytes are
 * back; then the next one starts at once. Each round trip is timed with
 * performance.now(), so a sample is application-to-application and
 * includes both event loops, as a user would see it.
 */
import type { Peer } from './peer-client.js';
import { MODE_ECHO } from './protocol.js';
import { median, quantile } from './stats.js';
import type { Channel, Transport } from './transports.js';

export interface LatencySample {
  roundTrips: number;
  /** µs */
  median: number;
  p99: number;
  min: number;
  mean: number;
}

const MAX_ROUND_TRIPS = 1 << 20;

/** Ping-pongs on `ch` until `deadline`; returns the round-trip times in ms. */
function pingPong(ch: Channel, size: number, deadline: number, maxTrips: number): Promise<Float64Array> {
  const s = ch.stream;
  const msg = Buffer.alloc(size, 0x33);
  const times = new Float64Array(maxTrips);
  return new Promise((resolve, reject) => {
    let n = 0;
    let missing = size;
    let t = 0;
    const finish = (err?: Error) => {
      s.off('data', onData);
      s.off('error', finish);
      if (err) reject(err);
      else resolve(times.subarray(0, n));
    };
    const onData = (d: Buffer) => {
      missing -= d.length;
      if (missing > 0) return;
      const now = performance.now();
      times[n++] = now - t;
      if (missing < 0) return finish(new Error(`echo returned ${-missing} bytes too many`));
      if (now >= deadline || n === maxTrips) return finish();
      missing = size;
      t = performance.now();
      s.write(msg);
    };
    s.on('data', onData);
    s.once('error', finish);
    t = performance.now();
    s.write(msg);
  });
}

export async function roundTrip(peer: Peer, transport: Transport, size: number, warmMs: number, ms: number): Promise<LatencySample> {
  const ch = await transport.open(peer, MODE_ECHO);
  try {
    await pingPong(ch, size, performance.now() + warmMs, MAX_ROUND_TRIPS);
    const times = await pingPong(ch, size, performance.now() + ms, MAX_ROUND_TRIPS);
    const us = Float64Array.from(times, (x) => x * 1000).sort();
    let sum = 0;
    for (const x of us) sum += x;
    return {
      roundTrips: us.length,
      median: median(us),
      p99: quantile(us, 0.99),
      min: us[0]!,
      mean: sum / us.length,
    };
  } finally {
    await ch.close();
  }
}
