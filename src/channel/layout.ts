/**
 * Layout of a worker channel: offsets and constants only, no logic.
 *
 * A channel is an ordinary shmnet region (see ../ring/layout.ts) in an
 * anonymous SharedArrayBuffer: the region header, ring C2S (written by
 * side 0, `port1`) and ring S2C (written by side 1, `port2`). The header
 * page is zero past HEADER_FIELDS_END; a channel keeps its own words
 * there, as native-endian Int32 accessed with Atomics:
 *
 * ```
 *  byte 2048 (CHANNEL_WORDS_OFFSET), Int32 index from there
 *  +----------------+----------------+----------------+----------------+
 *  | 0 kind 'CHAN'  | 1 opened[0]    | 2 opened[1]    | 3 closed[0]    |
 *  +----------------+----------------+----------------+----------------+
 *  | 4 closed[1]    | 5 rearmed[0]   | 6 rearmed[1]   | 7 alive[0]     |
 *  +----------------+----------------+----------------+----------------+
 *  | 8 alive[1]     |  zero up to the end of the header page           |
 *  +----------------+--------------------------------------------------+
 * ```
 *
 *  - `opened[s]`: 0 free, OPENED_CLAIMED while side `s` arms its liveness
 *    waiters, OPENED_LIVE once they are armed. Claimed with
 *    compareExchange, so a port opens once.
 *  - `closed[s]`: 1 once side `s` destroyed its end (stored after its FIN).
 *  - `alive[s]`: always 0. Side `s` keeps LIVENESS_WAITERS
 *    `Atomics.waitAsync` waiters on it; the peer probes with
 *    `Atomics.notify(…, 1)`, which wakes one and returns 1 while side
 *    `s`'s thread lives and 0 once it has terminated (V8 drops a dead
 *    thread's waiters).
 *  - `rearmed[s]`: free-running count of waiters side `s` re-armed after a
 *    probe woke one (incremented after the new waiter is registered).
 *
 * The side's data words are the rings' own: side `s` waits on
 * `consumerParked` of the ring it reads and on `producerParked` of the
 * ring it writes, and the peer `Atomics.notify`s those words.
 */

/** Where the channel words start, inside the header page. */
export const CHANNEL_WORDS_OFFSET = 2048;
/** Number of Int32 channel words. */
export const CHANNEL_WORD_COUNT = 9;

/** 'CHAN' read as a 32-bit integer: the region is a worker channel. */
export const CHANNEL_KIND = 0x4348414e;
/** Version of the port object and of these words. */
export const CHANNEL_VERSION = 1;

export const KIND_INDEX = 0;
/** `OPENED_INDEX + side`. */
export const OPENED_INDEX = 1;
/** `CLOSED_INDEX + side`. */
export const CLOSED_INDEX = 3;
/** `REARMED_INDEX + side`. */
export const REARMED_INDEX = 5;
/** `ALIVE_INDEX + side`. */
export const ALIVE_INDEX = 7;

export const OPENED_CLAIMED = 1;
export const OPENED_LIVE = 2;

/** Liveness waiters each side keeps armed (see channel-engine.ts, "Liveness"). */
export const LIVENESS_WAITERS = 16;
