/**
 * How long a ring pump polls before it parks on the doorbell, per wait.
 *
 * Polling (one `setImmediate` turn at a time) sees the peer's bytes a turn
 * after they land; parking costs nothing while idle, but the peer must ring
 * the doorbell and the wake-up goes through the kernel's scheduler (tens to
 * hundreds of µs on a busy machine). Spinning pays only when the bytes come
 * soon, and costs a core while it lasts, on a machine where the peer may
 * need that core.
 *
 * ## Two kinds of wait
 *
 *   - **Reply waits**: this end has written since it last received. In a
 *     request/response exchange what arrives next is the answer to what we
 *     wrote (the client waits for its response; the server, having
 *     answered, waits for the next request), and its delay is a property
 *     of the peer that repeats from one exchange to the next. The policy
 *     learns it, as TCP learns a round-trip time (Jacobson/Karels: a
 *     smoothed mean and mean deviation), and spins for `mean + 4·deviation`,
 *     at most `replyCapUs` and never longer than a parked wait for a reply
 *     usually takes. It keeps that figure too (parked reply waits, doorbell
 *     included) and spins only while spinning answers clearly sooner: on a
 *     machine with more runnable threads than cores, a spinner can hold the
 *     very core its peer needs, and then every reply comes only once the
 *     spin ends. A peer whose usual delay is past the cap is not
 *     spun for at all: the doorbell wakes us, and we keep learning from
 *     those wake-ups, so a peer that speeds up is spun for again.
 *   - **Other waits** (we only read: a stream, or a request whose answer
 *     our own code has not written yet): spin `baseUs` (the `spin` option),
 *     as before. An idle Conn therefore spins at most once per wait,
 *     bounded by one of the two budgets, then parks.
 *
 * ## Giving the core away
 *
 * A spin turn that comes much later than the previous one (`STALL_US`)
 * means this thread was descheduled, or the loop is busy with other work:
 * either way someone else needs the CPU, so the wait parks at once.
 *
 * The pump tells the policy what happened (`wrote()`, `received()`) and
 * asks it one question per turn while waiting (`spin()`); it knows nothing
 * of rings, sockets or streams, and its clock is injected, so it is tested
 * on its own (test/stream/wait-policy.test.ts).
 */

/** Longest reply wait spun for by default, µs. */
export const DEFAULT_REPLY_CAP_US = 1000;
/** A turn this much later than the previous one means the thread lost its core, µs. */
export const STALL_US = 250;
/**
 * While parking is preferred, one reply wait in this many is spun for, to
 * keep measuring spinning: it costs CPU for at most the budget, never a
 * later reply.
 */
export const EXPLORE_SPIN = 16;
/**
 * While spinning is preferred, one reply wait in this many parks, to keep
 * measuring the doorbell. Each costs a wake-up through the kernel, often
 * several round trips' worth, so it is rare. Spinning that stops paying
 * needs no exploration to be noticed: its own late replies show it.
 */
export const EXPLORE_PARK = 256;
/** Spin only when spinning has answered in less than this share of the parked reply time. */
const WIN = 0.8;

export interface WaitPolicyOptions {
  /** Spin budget of waits that are not replies, µs (the `spin` option); 0 never spins at all. */
  baseUs: number;
  /** Upper bound of a reply wait's spin, µs. */
  replyCapUs?: number;
  /** Milliseconds, monotonic (performance.now by default). */
  clock?: () => number;
}

const SPIN = 0;
const PARK = 1;

export class WaitPolicy {
  readonly #baseMs: number;
  readonly #capMs: number;
  readonly #clock: () => number;
  /** We wrote since we last received: the next bytes are a reply. */
  #expecting = false;
  /** The current wait: when it began (0: none), whether as a reply wait, how (SPIN/PARK), its deadline, the last turn. */
  #since = 0;
  #sinceExpecting = false;
  #arm = SPIN;
  #deadline = 0;
  #lastTurn = 0;
  /** Reply delay per way of waiting (smoothed mean, ms; NaN before the first), and the mean deviation of the spun ones. */
  readonly #replyMs = [NaN, NaN];
  #spinDevMs = 0;
  #replyWaits = 0;
  // counters for stats()
  #replies = 0;
  #stalls = 0;

  constructor(o: WaitPolicyOptions) {
    this.#baseMs = o.baseUs / 1000;
    this.#capMs = o.baseUs === 0 ? 0 : Math.max(o.baseUs, o.replyCapUs ?? DEFAULT_REPLY_CAP_US) / 1000;
    this.#clock = o.clock ?? performance.now.bind(performance);
  }

  /**
   * Bytes went to the peer: what arrives next answers them. A wait already
   * under way (polling, or parked) becomes a reply wait from now; true if
   * that one should be spun (a parked caller then unparks and polls).
   */
  wrote(): boolean {
    if (this.#expecting) return false;
    this.#expecting = true;
    if (this.#since === 0) return false;
    this.#begin(this.#clock());
    return this.#arm === SPIN && this.#deadline > this.#since;
  }

  /** Bytes arrived from the peer (call before handing them on: a reply written from inside that starts the next wait). */
  received(): void {
    if (this.#since !== 0 && this.#sinceExpecting) {
      const now = this.#clock();
      this.#learn(now - this.#since, now >= this.#deadline);
    }
    this.#expecting = false;
    this.#since = 0;
  }

  /** Bytes moved some other way (a pending write flushed): the wait starts over, nothing learned. */
  moved(): void {
    this.#since = 0;
  }

  /**
   * The pump has nothing to move and must wait: true to poll again on the
   * next turn, false to park. A wait begins at the first call after
   * `received()`/`moved()`, or anew when a write turned it into a reply wait.
   */
  spin(): boolean {
    const now = this.#clock();
    if (this.#since === 0 || this.#sinceExpecting !== this.#expecting) {
      this.#begin(now);
      return now < this.#deadline;
    }
    if (now - this.#lastTurn > STALL_US / 1000) {
      this.#stalls++;
      this.#deadline = 0;
      return false;
    }
    this.#lastTurn = now;
    return now < this.#deadline;
  }

  /** Counters for `conn.stats()`. */
  stats(): { replies: number; replySpunUs: number; replyParkedUs: number; replySpinUs: number; spinStalls: number } {
    const us = (ms: number) => (Number.isNaN(ms) ? 0 : Math.round(ms * 1000));
    return {
      replies: this.#replies,
      replySpunUs: us(this.#replyMs[SPIN]!),
      replyParkedUs: us(this.#replyMs[PARK]!),
      replySpinUs: us(this.#prefer() === SPIN ? this.#spinBudget() : 0),
      spinStalls: this.#stalls,
    };
  }

  #begin(now: number): void {
    this.#since = now;
    this.#lastTurn = now;
    this.#sinceExpecting = this.#expecting;
    if (!this.#expecting) {
      this.#deadline = now + this.#baseMs;
      return;
    }
    // Mostly the way that has answered sooner; now and then the other one,
    // so its figure follows a machine whose load changes.
    const best = this.#prefer();
    this.#arm = ++this.#replyWaits % (best === SPIN ? EXPLORE_PARK : EXPLORE_SPIN) === 0 ? 1 - best : best;
    this.#deadline = this.#arm === SPIN ? now + this.#spinBudget() : 0;
  }

  /** SPIN unless parking has been seen to answer about as soon (spinning costs a core meanwhile). */
  #prefer(): number {
    const spun = this.#replyMs[SPIN]!;
    const parked = this.#replyMs[PARK]!;
    if (this.#capMs === 0) return PARK;
    if (Number.isNaN(spun) || Number.isNaN(parked)) return Number.isNaN(spun) ? SPIN : PARK;
    return spun < WIN * parked ? SPIN : PARK;
  }

  /**
   * Long enough for most replies seen while spinning (mean + 4 deviations),
   * never longer than a parked wait usually takes (a spin past that cannot
   * beat the doorbell), and at most the cap.
   */
  #spinBudget(): number {
    const m = this.#replyMs[SPIN]!;
    const parked = this.#replyMs[PARK]!;
    const budget = Number.isNaN(m) ? Math.min(this.#baseMs, this.#capMs) : Math.min(this.#capMs, m + 4 * this.#spinDevMs);
    return Number.isNaN(parked) ? budget : Math.min(budget, parked);
  }

  /** `late`: the reply came after the spin budget, when we had parked (or would have). */
  #learn(sample: number, late: boolean): void {
    this.#replies++;
    const arm = this.#arm;
    const parked = this.#replyMs[PARK]!;
    // One long pause (the peer went idle) counts as a slow reply, not as all
    // of it; a spin that missed cost its budget plus an ordinary parked wait.
    let ms = Math.min(sample, 2 * this.#capMs);
    if (arm === SPIN && late) ms = Math.min(ms, this.#spinBudget() + (Number.isNaN(parked) ? this.#capMs : parked));
    const old = this.#replyMs[arm]!;
    if (Number.isNaN(old)) {
      this.#replyMs[arm] = ms;
      if (arm === SPIN) this.#spinDevMs = ms / 2;
      return;
    }
    if (arm === SPIN) this.#spinDevMs += (Math.abs(old - ms) - this.#spinDevMs) / 4;
    this.#replyMs[arm] = old + (ms - old) / 8;
  }
}
