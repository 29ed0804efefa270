/**
 * Idle cost: a shmnet Conn that has just carried a message and then sits
 * idle, both ends reading. After the spin budget both ends must be parked
 * on the doorbell, so the CPU either process uses while idle is ~0.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Peer } from './peer-client.js';
import { MODE_ECHO } from './protocol.js';
import type { Transport } from './transports.js';

export interface IdleSample {
  /** How long the connection sat idle before the measurement, ms. */
  settleMs: number;
  /** Measurement window, ms. */
  windowMs: number;
  /** CPU used in the window, % of one core. */
  benchCpu: number;
  peerCpu: number;
  /** The bench side's shmnet counters after the window. */
  stats: Record<string, unknown> | null;
}

export async function idleCpu(peer: Peer, transport: Transport, settleMs: number, windowMs: number): Promise<IdleSample> {
  const ch = await transport.open(peer, MODE_ECHO);
  try {
    const s = ch.stream;
    if (s === null) throw new Error(`${transport.label} is not a stream`);
    // One exchange so both ends have been busy (spinning) at least once.
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.once('data', () => {
        s.off('error', reject);
        resolve();
      });
      s.write(Buffer.alloc(64));
    });
    s.on('data', () => {});
    await sleep(settleMs);
    const peer0 = await peer.cpuUsage();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(windowMs);
    const cpu = process.cpuUsage(cpu0);
    const ms = performance.now() - t0;
    const peer1 = await peer.cpuUsage();
    const stats = s as { stats?: () => Record<string, unknown> };
    return {
      settleMs,
      windowMs: ms,
      benchCpu: ((cpu.user + cpu.system) / 1e3 / ms) * 100,
      peerCpu: ((peer1.user + peer1.system - peer0.user - peer0.system) / 1e3 / ms) * 100,
      stats: typeof stats.stats === 'function' ? stats.stats() : null,
    };
  } finally {
    await ch.close();
  }
}
