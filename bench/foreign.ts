/**
 * Foreign load: CPU used during a sample by anything other than the bench
 * process and its peer. On a 2-core machine one busy neighbour is enough to
 * halve a result, so each sample records it, and cli.ts repeats a sample
 * that ran alongside too much of it.
 *
 * Linux only (/proc/stat); elsewhere the reading is null and nothing is
 * repeated. /proc/stat counts in USER_HZ ticks (10 ms), so a reading over
 * a 400 ms sample is good to a few percent of a core.
 */
import { readFileSync } from 'node:fs';
import type { Peer } from './peer-client.js';

const TICK_US = 10_000;

/** Busy CPU time of the whole machine so far, µs (null where /proc/stat is missing). */
function machineBusyUs(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!;
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
    return busy * TICK_US;
  } catch {
    return null;
  }
}

export interface Measured<T> {
  value: T;
  /** CPU used by other processes during the sample, % of one core; null if unknown. */
  foreignCpu: number | null;
}

/** Runs `fn` and reports how much CPU everything else on the machine used meanwhile. */
export async function measureForeign<T>(peer: Pick<Peer, 'cpuUsage'>, fn: () => T | Promise<T>): Promise<Measured<T>> {
  const busy0 = machineBusyUs();
  const peer0 = await peer.cpuUsage();
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const wallUs = (performance.now() - t0) * 1000;
  const own = process.cpuUsage(own0);
  const peer1 = await peer.cpuUsage();
  const busy1 = machineBusyUs();
  if (busy0 === null || busy1 === null || wallUs <= 0) return { value, foreignCpu: null };
  const ours = own.user + own.system + (peer1.user + peer1.system - peer0.user - peer0.system);
  const foreign = Math.max(0, busy1 - busy0 - ours);
  return { value, foreignCpu: (foreign / wallUs) * 100 };
}

/**
 * Waits until the rest of the machine has used at most `maxPct`% of a core
 * for two half-second windows in a row, or `maxWaitMs` passed. Returns the
 * time waited, ms.
 */
export async function waitForQuiet(peer: Peer, maxPct: number, maxWaitMs: number): Promise<number> {
  const t0 = performance.now();
  let quiet = 0;
  while (quiet < 2 && performance.now() - t0 < maxWaitMs) {
    const m = await measureForeign(peer, () => new Promise<void>((r) => setTimeout(r, 500)));
    if (m.foreignCpu === null) return performance.now() - t0;
    quiet = m.foreignCpu <= maxPct ? quiet + 1 : 0;
  }
  return performance.now() - t0;
}
