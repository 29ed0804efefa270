/**
 * One-way throughput, the same code for every transport.
 *
 * The bench process is the sender, the peer process the receiver, so each
 * side has a core of its own. One sample:
 *
 *   1. open `conns` channels in sink mode;
 *   2. warm-up phase, then the timed phase. A phase: every channel writes
 *      `size`-byte chunks as fast as backpressure allows (write until
 *      `write()` returns false, wait for 'drain') until the deadline; then
 *      the bench asks the peer over IPC to report when it has received
 *      every byte written so far, and the phase ends at that report. So a
 *      phase counts only bytes the receiver really got, and includes the
 *      time to drain whatever was still in flight (ring, kernel buffers).
 *      The warm-up phase also leaves the pipeline empty for the timed one;
 *   3. close the channels.
 *
 * Memory copy (memcpyOneWay) is the same shape in one process: the same
 * chunk `Buffer.copy`ed into a 1 MiB destination at a moving offset, as the
 * ring does.
 */
import type { Peer } from './peer-client.js';
import { rates } from './stats.js';
import { MODE_SINK } from './protocol.js';
import type { Channel, Transport } from './transports.js';

export interface OneWaySample {
  /** Payload bytes the receiver got in the timed phase. */
  bytes: number;
  seconds: number;
  /** 10^6 bytes per second. */
  mbps: number;
  opsPerSec: number;
  /** Time per chunk: 1e9 / opsPerSec. */
  nsPerOp: number;
  /** CPU used during the timed phase, in % of one core. */
  senderCpu: number;
  receiverCpu?: number;
  /** Receiver-side shmnet counters (doorbells, parks, …), per connection. */
  receiverStats?: Array<Record<string, unknown> | null>;
  /** Sender-side shmnet counters, per connection. */
  senderStats?: Array<Record<string, unknown> | null>;
}

/** A writer yields to the event loop after this many bytes without backpressure. */
const YIELD_BYTES = 4 << 20;
/** The clock is read every this many writes. */
const WRITES_PER_CHECK = 8;

/** Writes `chunk` on `ch` as fast as backpressure allows until `deadline` (performance.now()). */
export function writeUntil(ch: Channel, chunk: Buffer, deadline: number): Promise<void> {
  if (ch.writeUntil) return ch.writeUntil(chunk, deadline);
  const s = ch.stream!;
  return new Promise((resolve, reject) => {
    const n = chunk.length;
    const onError = (err: Error) => {
      s.off('drain', pump);
      reject(err);
    };
    s.once('error', onError);
    function pump(): void {
      let burst = 0;
      for (;;) {
        if (performance.now() >= deadline) {
          s.off('error', onError);
          resolve();
          return;
        }
        for (let i = 0; i < WRITES_PER_CHECK; i++) {
          ch.written += n;
          if (!s.write(chunk)) {
            s.once('drain', pump);
            return;
          }
        }
        burst += WRITES_PER_CHECK * n;
        if (burst >= YIELD_BYTES) {
          setImmediate(pump);
          return;
        }
      }
    }
    pump();
  });
}

function streamStats(chs: Channel[]): Array<Record<string, unknown> | null> | undefined {
  const out = chs.map((c) => {
    const s = c.stream as { stats?: () => Record<string, unknown> } | null;
    return typeof s?.stats === 'function' ? s.stats() : null;
  });
  return out.some((x) => x !== null) ? out : undefined;
}

interface PhaseResult {
  bytes: number;
  ms: number;
  senderCpuUs: number;
  /** The peer's CPU time (µs) when it reported the end of the phase. */
  receiverCpuAtEnd: number;
  receiverStats: Array<Record<string, unknown> | null>;
}

async function phase(peer: Peer, chs: Channel[], chunk: Buffer, ms: number): Promise<PhaseResult> {
  const before = chs.reduce((a, c) => a + c.written, 0);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + ms;
  await Promise.all(chs.map((c) => writeUntil(c, chunk, deadline)));
  const reached = await peer.awaitBytes(chs.map((c) => [c.id, c.written]));
  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  return {
    bytes: chs.reduce((a, c) => a + c.written, 0) - before,
    ms: t1 - t0,
    senderCpuUs: cpu.user + cpu.system,
    receiverCpuAtEnd: reached.cpuUs,
    receiverStats: reached.stats,
  };
}

/** One sample of one-way throughput over `conns` concurrent channels of `transport` (aggregate). */
export async function oneWay(
  peer: Peer,
  transport: Transport,
  size: number,
  conns: number,
  warmMs: number,
  ms: number,
): Promise<OneWaySample> {
  const chunk = Buffer.alloc(size, 0x5a);
  const chs: Channel[] = [];
  try {
    for (let i = 0; i < conns; i++) chs.push(await transport.open(peer, MODE_SINK));
    const warm = await phase(peer, chs, chunk, warmMs);
    const r = await phase(peer, chs, chunk, ms);
    return {
      ...rates(r.bytes, r.ms, size),
      senderCpu: (r.senderCpuUs / 1e3 / r.ms) * 100,
      // The peer's interval is end of warm-up → end of timed phase: ≈ r.ms (plus one IPC hop).
      receiverCpu: ((r.receiverCpuAtEnd - warm.receiverCpuAtEnd) / 1e3 / r.ms) * 100,
      receiverStats: r.receiverStats.some((x) => x !== null) ? r.receiverStats : undefined,
      senderStats: streamStats(chs),
    };
  } finally {
    await Promise.all(chs.map((c) => c.close()));
  }
}

const MEMCPY_DEST = 1 << 20;

/**
 * `Buffer.copy` of `size`-byte chunks in this process: `warmMs` untimed,
 * then `ms` cut into `slices` timed slices, of which the fastest is the
 * sample. It is a ceiling, so a slice that a page fault, a GC of the
 * harness or a neighbour on the core slowed down says nothing about it.
 */
export function memcpyOneWay(size: number, warmMs: number, ms: number, slices = 1): OneWaySample {
  const src = Buffer.alloc(size, 0x5a);
  const dest = Buffer.alloc(Math.max(MEMCPY_DEST, size));
  const mask = dest.length - 1;
  let pos = 0;
  const run = (dur: number): { bytes: number; ms: number; cpuUs: number } => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const deadline = t0 + dur;
    let copies = 0;
    let now = t0;
    while (now < deadline) {
      for (let i = 0; i < WRITES_PER_CHECK; i++) {
        src.copy(dest, pos);
        pos = (pos + size) & mask;
      }
      copies += WRITES_PER_CHECK;
      now = performance.now();
    }
    const cpu = process.cpuUsage(cpu0);
    return { bytes: copies * size, ms: now - t0, cpuUs: cpu.user + cpu.system };
  };
  run(warmMs);
  let best = run(ms / slices);
  for (let i = 1; i < slices; i++) {
    const r = run(ms / slices);
    if (r.bytes / r.ms > best.bytes / best.ms) best = r;
  }
  return {
    ...rates(best.bytes, best.ms, size),
    senderCpu: (best.cpuUs / 1e3 / best.ms) * 100,
  };
}
