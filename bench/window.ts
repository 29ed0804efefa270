export interface WindowReading {
  /** Counter increase inside the window. */
  count: number;
  /** Real window length, ms. */
  ms: number;
  /** CPU time this process (all its threads) used in the window, µs. */
  cpuUs: number;
}

/**
 * A timed window over a running counter, for benchmarks where the sender
 * runs without pause (message mode, worker channels) and the receiver only
 * counts: once `warmMs` have passed the counter is read (with the clock and
 * this process's CPU time), again once `ms` more have passed, and the sample
 * is the difference. Whatever arrives before the window opens or after it
 * closes does not count.
 *
 * The boundaries are checked by `poll()`, which the receiving code calls
 * every so often as data arrives (cheaply: every N messages or bytes), and
 * by timers. Both are needed: timers alone are not enough, because a
 * receiver whose sender keeps its ring non-empty can stay inside one
 * delivery loop for a long time (a shmnet Conn keeps pushing while data is
 * there), so timers, promise continuations and IPC replies wait; data alone
 * is not enough when nothing arrives. Each reading takes the count and the
 * clock at the same moment, so a late reading moves the window (its real
 * length is measured), it does not bias the rate.
 *
 * A window whose time is up but in which nothing arrived yet stays open
 * until the first arrival (timers keep polling every millisecond).
 *
 * `onClose` runs synchronously when the window closes, from inside the
 * delivery loop if that is where the closing poll happened: it is where
 * the sender is told to stop (a synchronous send), which is what lets a
 * starved loop end.
 */
export class TimedWindow {
  readonly result: Promise<WindowReading>;
  #resolve!: (r: WindowReading) => void;
  #phase: 0 | 1 | 2 = 0;
  #openAt: number;
  #closeAt = Infinity;
  #c0 = 0;
  #t0 = 0;
  #cpu0: NodeJS.CpuUsage | null = null;
  #timer: NodeJS.Timeout | null;
  /** The largest gap between a boundary and the poll that noticed it, ms (how late the readings were). */
  lateMs = 0;

  constructor(
    readonly read: () => number,
    warmMs: number,
    readonly ms: number,
    readonly onClose: () => void = () => {},
  ) {
    this.result = new Promise((resolve) => (this.#resolve = resolve));
    this.#openAt = performance.now() + warmMs;
    this.#timer = setTimeout(this.#onTimer, warmMs);
  }

  /**
   * A timer may fire a little before performance.now() reaches its
   * boundary (libuv's loop clock is coarser), and then poll() does nothing:
   * re-arm, or a window with no other poller would never close.
   */
  readonly #onTimer = (): void => {
    this.#timer = null;
    const phase = this.#phase;
    this.poll();
    if (this.#phase === phase && phase !== 2 && this.#timer === null) {
      const at = phase === 0 ? this.#openAt : this.#closeAt;
      this.#timer = setTimeout(this.#onTimer, Math.max(1, at - performance.now()));
    }
  };

  readonly poll = (): void => {
    if (this.#phase === 2) return;
    const now = performance.now();
    if (this.#phase === 0) {
      if (now < this.#openAt) return;
      this.#c0 = this.read();
      this.#t0 = now;
      this.#cpu0 = process.cpuUsage();
      this.lateMs = Math.max(this.lateMs, now - this.#openAt);
      this.#phase = 1;
      this.#closeAt = now + this.ms;
      if (this.#timer !== null) clearTimeout(this.#timer);
      this.#timer = setTimeout(this.#onTimer, this.ms);
      return;
    }
    if (now < this.#closeAt) return;
    const count = this.read() - this.#c0;
    // A window closes only once something arrived in it: on a starved
    // machine a short window can otherwise see nothing. It stays open, and
    // its real (longer) length is what the rate is divided by.
    if (count <= 0) return;
    const cpu = process.cpuUsage(this.#cpu0!);
    this.lateMs = Math.max(this.lateMs, now - this.#closeAt);
    this.#phase = 2;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#resolve({ count, ms: now - this.#t0, cpuUs: cpu.user + cpu.system });
    this.onClose();
  };

  /** Stops the timers (after a failure). */
  cancel(): void {
    this.#phase = 2;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/** Rejects after `ms` with `what` unless `p` settles first; the timer never outlives the race. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no result after ${(ms / 1000).toFixed(0)} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
