/**
 * What a real consumer of received bytes pays at least: one load per
 * 64-byte cache line. The zero-copy rows call it on what they receive, so
 * nothing is measured that a reader would not pay.
 */
let touched = 0;

/** Loads one byte in every 64 of `b[0..n)`; the result is kept so the loads are not optimised away. */
export function touchLines(b: Uint8Array, n: number): void {
  let x = touched;
  for (let i = 0; i < n; i += 64) x ^= b[i]!;
  touched = x;
}
