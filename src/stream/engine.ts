/**
 * The engine contract: what a `Conn` (conn.ts) asks of the thing that
 * moves its bytes. A `RingPump` (ring-pump.ts) implements it over shared
 * rings, `SocketEngine` (../net/socket-engine.ts) over the control socket.
 */

/** What carries a Conn's bytes: shared-memory rings between processes, the socket, or rings between threads. */
export type Transport = 'shm' | 'tcp' | 'channel';

/** Counters every engine reports in `conn.stats()`. */
export interface EngineStats {
  [counter: string]: string | number | boolean | undefined;
  /** Buffers pushed to the stream. */
  chunksIn: number;
  /** Writes that moved bytes. */
  chunksOut: number;
}

/** Ring counters in `conn.stats()`. */
export interface RingStats extends EngineStats {
  ringSize: number;
  parks: number;
  /** The read side is parked on the doorbell right now (it costs no CPU). */
  parked: boolean;
  spinTurns: number;
  /** The wait policy's figures (wait-policy.ts). */
  replies: number;
  replySpunUs: number;
  replyParkedUs: number;
  replySpinUs: number;
  spinStalls: number;
  /** NaN when the peer has corrupted the ring. */
  rxOccupancy: number;
  txOccupancy: number;
  peakRxOccupancy?: number;
  peakTxOccupancy?: number;
}

export interface Engine {
  readonly transport: Transport;
  /** Writes every chunk, then calls `cb` (possibly synchronously). */
  write(chunks: Buffer[], cb: (err?: Error | null) => void): void;
  /**
   * The Conn's fast path: writes the whole chunk now and returns true if it
   * fits and nothing is pending; otherwise writes nothing and returns false
   * (the chunk then goes through `write`). Throws only for a corrupt ring.
   */
  tryWrite?(chunk: Uint8Array): boolean;
  /**
   * The Conn wants data: push until `push()` returns false. In onread mode
   * (`conn._onread` set): start reading into its buffer on a later turn,
   * never inside this call, until the callback returns false or
   * `readStop()`; idempotent.
   */
  read(): void;
  /** onread mode: stop reading until the next `read()` (as a handle's readStop). */
  readStop(): void;
  /** All writes are done: signal end of stream to the peer. */
  final(cb: (err?: Error | null) => void): void;
  /** Releases everything (`err` null for a clean close). */
  destroy(err: Error | null): void;
  /** An abortive close the peer reports as a reset (ECONNRESET); destroy() follows. */
  reset(): void;
  ref(): void;
  unref(): void;
  /** Engine-specific counters for `conn.stats()`. */
  stats(): EngineStats;
  /** The zero-copy lanes (ring engines only; see ring-pump.ts "Lanes"). */
  lanes?: Lanes;
}

/** What a Conn's claim/commit/borrow/release call on a ring engine (ring-pump.ts "Lanes"). */
export interface Lanes {
  claim(max: number): Uint8Array | null;
  commit(n: number): void;
  startBorrowing(): void;
  borrow(max: number | undefined): Uint8Array | null;
  release(n: number): void;
  stopBorrowing(): void;
}
