/** Small statistics over samples. */

/** The q-quantile (0..1) of an ascending array, nearest-rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  return sorted[rank]!;
}

/** The median of any array (interpolated for an even count). */
export function median(values: ArrayLike<number>): number {
  const s = Array.from(values).sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** Median, min and max of a cell's repetitions. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function summarize(values: number[]): Summary {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

/** Throughput figures of `bytes` moved in `ms` as `size`-byte operations. */
export function rates(bytes: number, ms: number, size: number): { bytes: number; seconds: number; mbps: number; opsPerSec: number; nsPerOp: number } {
  const seconds = ms / 1000;
  const opsPerSec = bytes / size / seconds;
  return { bytes, seconds, mbps: bytes / 1e6 / seconds, opsPerSec, nsPerOp: 1e9 / opsPerSec };
}
