/**
 * `MessageConn`: JavaScript values over a byte stream, for RPC. Each value
 * is one MessagePack value (msgpackr, `useRecords: false`) behind its
 * length, the same framing as the handshake (../handshake/frames.ts):
 *
 * ```
 *  0               4                                  4 + N
 *  +---------------+----------------------------------+-----------
 *  | N (uint32 BE) | N bytes: one MessagePack value   | next frame
 *  +---------------+----------------------------------+-----------
 * ```
 *
 * ## Sending
 *
 * `send()` packs into msgpackr's reused buffer with four bytes reserved in
 * front, writes the length there, and copies the frame into a batch
 * buffer; the batch goes to the stream as one write when it fills
 * (BATCH_SIZE) or on the next tick. So a burst of small messages costs one
 * stream write per ~64 KiB, not one per message. A frame of
 * DIRECT_MIN bytes or more skips the batch: it is written as it is
 * (msgpackr is then given a fresh buffer, so it never writes over a frame
 * the stream still holds). On a `Conn` the batch buffers are recycled once
 * the stream has copied them into the ring; on any other Duplex (which may
 * hand the very chunk to a reader) each batch is a new buffer.
 *
 * Backpressure: `send()` returns false once the stream's `write()` did;
 * 'drain' follows when it drains.
 *
 * ## Receiving
 *
 * A frame that lies whole inside a received chunk is decoded in place
 * (`unpack(chunk, { start, end })`: no copy, no subarray); binary values
 * are views into that chunk. Only a frame split across chunks is
 * assembled, into a buffer of exactly its size. Input is untrusted: a
 * length over `maxMessageSize` is refused before any of its bytes are
 * awaited (`SHMNET_ERR_MESSAGE_TOO_LARGE`), and a body that is not exactly
 * one MessagePack value is `SHMNET_ERR_MESSAGE_MALFORMED`; either destroys
 * the stream with that error, so the sending peer only sees its
 * connection close.
 *
 * ## Over a ring
 *
 * On a `Conn` whose transport has rings (shared memory, a worker channel)
 * sending uses its zero-copy lanes (../stream/conn.ts) instead:
 *
 *   - send() copies each packed frame straight into a claimed view of the
 *     TX ring (one copy, from msgpackr's buffer; no batch, no stream
 *     write), and commits on the next tick or when the view is full, so a
 *     burst is still one publish per view. A frame that finds the ring
 *     full (or stream writes pending) takes the batch path above; claims
 *     resume once those writes are done.
 *   - Receiving stays on 'data' (decoded in place from the pushed chunk,
 *     as above): parsing borrowed ring views is not used yet.
 *
 * Stream listeners are module-level functions that find their owner
 * through a symbol, so no closure is created per connection.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { Packr, Unpackr, RESERVE_START_SPACE, RESET_BUFFER_MODE } from 'msgpackr';
import { codes, invalidArg, outOfRange, ShmnetError, ShmnetRangeError } from '../errors.js';
import { Conn } from '../stream/conn.js';

/** Bytes of the big-endian length prefix. */
export const MESSAGE_HEADER_SIZE = 4;
/** Default limit on one message's encoded size. */
export const DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;
/** Largest `maxMessageSize` accepted. */
export const MAX_MESSAGE_SIZE_LIMIT = 1024 * 1024 * 1024;
/** Size of a send batch. */
const BATCH_SIZE = 64 * 1024;
/** Frames at least this long are written on their own, without a copy. */
const DIRECT_MIN = 16 * 1024;
/** Batch buffers kept for reuse. */
const SPARE_BATCHES = 4;
/** msgpackr's own buffer after a direct write gave the old one away. */
const PACK_BUFFER_SIZE = 8192;

/**
 * Four bytes reserved in front for the length; msgpackr packs every value
 * at the same place in its buffer (RESET), since the frame is copied out
 * (or the buffer given away) before the next pack.
 */
const PACK_OPTIONS = RESERVE_START_SPACE | MESSAGE_HEADER_SIZE | RESET_BUFFER_MODE;

export interface MessageConnOptions {
  /**
   * Largest encoded message accepted or sent, in bytes (default 16 MiB).
   * A received frame above it destroys the stream with
   * `SHMNET_ERR_MESSAGE_TOO_LARGE`; `send()` of a larger value throws that.
   */
  maxMessageSize?: number;
}

const kOwner = Symbol('shmnet.messageConn');
type OwnedStream = Duplex & { [kOwner]?: MessageConn };

function streamOnData(this: OwnedStream, chunk: Buffer): void {
  this[kOwner]?._onData(chunk);
}
function streamOnEnd(this: OwnedStream): void {
  this[kOwner]?._onEnd();
}
function streamOnDrain(this: OwnedStream): void {
  this[kOwner]?._onDrain();
}
function streamOnError(this: OwnedStream, err: Error): void {
  this[kOwner]?.emit('error', err);
}
function streamOnClose(this: OwnedStream): void {
  this[kOwner]?._onClose();
}
function streamOnConnect(this: OwnedStream): void {
  this[kOwner]?._start();
}


function readLength(b: Buffer, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

/**
 * Sends and receives JavaScript values over a `Conn` (or any Duplex of
 * bytes), one MessagePack value per length-prefixed frame.
 *
 * Events: 'message' (value), 'drain', 'end' (the peer ended),
 * 'error' (err; the stream is destroyed), 'close'.
 */
export class MessageConn extends EventEmitter {
  /** The byte stream underneath. */
  readonly conn: Duplex;
  readonly maxMessageSize: number;
  readonly #stream: OwnedStream;
  readonly #packr = new Packr({ useRecords: false });
  readonly #unpackr = new Unpackr({ useRecords: false });

  /** Reused for every in-place decode. */
  readonly #window = { start: 0, end: 0 };
  /** Batches can be reused after their write completes (the stream copies them). */
  readonly #recycle: boolean;

  // ---- send state
  #batch: Buffer | null = null;
  #pos = 0;
  #spare: Buffer[] = [];
  #flushQueued = false;
  #needDrain = false;
  #ended = false;
  readonly #flushTick = (): void => {
    this.#flushQueued = false;
    this.#flush();
  };

  // ---- receive state
  /** Bytes of a length prefix split across chunks. */
  readonly #head = Buffer.alloc(MESSAGE_HEADER_SIZE);
  #headLen = 0;
  /** A frame body split across chunks, and how much of it has arrived. */
  #body: Buffer | null = null;
  #bodyLen = 0;
  /** Rest of a chunk not yet parsed because 'message' handling paused us. */
  #rest: Buffer | null = null;
  #restPos = 0;
  #paused = false;
  #failed = false;
  /** The stream ended while a paused chunk was still unparsed. */
  #endPending = false;

  // ---- lanes (see "Over a ring")
  /** The Conn, once it runs over rings. */
  #lanes: Conn | null = null;
  /** The claimed TX view being filled, and how far. */
  #claim: Uint8Array | null = null;
  #claimPos = 0;

  #sent = 0;
  #received = 0;

  constructor(conn: Duplex, options?: MessageConnOptions) {
    super();
    if (typeof conn !== 'object' || conn === null || typeof (conn as Duplex).write !== 'function' || typeof (conn as Duplex).on !== 'function') {
      throw invalidArg('MessageConn needs a Duplex stream (a Conn)');
    }
    if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidArg('options must be an object');
    const max = options?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    if (typeof max !== 'number' || !Number.isInteger(max)) throw invalidArg(`maxMessageSize must be an integer, got ${String(max)}`);
    if (max < 1 || max > MAX_MESSAGE_SIZE_LIMIT) throw outOfRange(`maxMessageSize must be between 1 and ${MAX_MESSAGE_SIZE_LIMIT}, got ${max}`);
    this.conn = conn;
    this.maxMessageSize = max;
    this.#recycle = conn instanceof Conn;
    const s = conn as OwnedStream;
    if (s[kOwner] !== undefined) throw invalidArg('this stream already has a MessageConn');
    this.#stream = s;
    s[kOwner] = this;
    if (!(conn instanceof Conn)) s.on('data', streamOnData);
    else if (conn.pending) s.once('connect', streamOnConnect);
    else this._start();
    s.on('end', streamOnEnd);
    s.on('drain', streamOnDrain);
    s.on('error', streamOnError);
    s.on('close', streamOnClose);
  }

  /** @internal The Conn is connected: send through its lanes over rings; read through 'data'. */
  _start(): void {
    const conn = this.#stream as unknown as Conn;
    if (conn.destroyed || this.#failed) return;
    conn.on('data', streamOnData);
    if (this.#paused) conn.pause();
    if (conn.transport !== 'tcp') this.#lanes = conn;
  }

  /** Copies a packed frame into claimed TX views; returns how many bytes it placed (the rest takes the batch path). */
  #sendLane(conn: Conn, frame: Buffer): number {
    let off = 0;
    while (off < frame.length) {
      let view = this.#claim;
      if (view === null) {
        if (conn.writableLength > 0 || this.#batch !== null) break;
        try {
          view = conn.claim(BATCH_SIZE);
        } catch {
          break; // closed meanwhile: the stream path reports it
        }
        if (view === null) break;
        this.#claim = view;
        this.#claimPos = 0;
      }
      const n = Math.min(frame.length - off, view.length - this.#claimPos);
      view.set(n === frame.length ? frame : frame.subarray(off, off + n), this.#claimPos);
      this.#claimPos += n;
      off += n;
      if (this.#claimPos === view.length) this.#commitLane();
    }
    if (this.#claim !== null && !this.#flushQueued) {
      this.#flushQueued = true;
      process.nextTick(this.#flushTick);
    }
    return off;
  }

  #commitLane(): void {
    const conn = this.#lanes!;
    const n = this.#claimPos;
    this.#claim = null;
    this.#claimPos = 0;
    if (!conn.destroyed) conn.commit(n);
  }

  /** Messages sent / received so far. */
  get messagesSent(): number {
    return this.#sent;
  }

  get messagesReceived(): number {
    return this.#received;
  }

  /** True once send() returned false and 'drain' has not come yet. */
  get needDrain(): boolean {
    return this.#needDrain;
  }

  /**
   * Queues one value. Returns false when the stream wants the sender to
   * wait for 'drain' (the value is queued all the same). After `end()` or
   * once the stream is destroyed the value is dropped and false returned.
   * Throws `SHMNET_ERR_MESSAGE_TOO_LARGE` (RangeError) when the encoded
   * value exceeds `maxMessageSize`; the connection stays usable.
   */
  send(value: unknown): boolean {
    const s = this.#stream;
    if (this.#ended || s.destroyed) return false;
    const frame: Buffer = this.#packr.pack(value, PACK_OPTIONS);
    const len = frame.length - MESSAGE_HEADER_SIZE;
    if (len > this.maxMessageSize) {
      if (frame.length >= DIRECT_MIN) this.#packr.useBuffer(Buffer.allocUnsafeSlow(PACK_BUFFER_SIZE));
      throw new ShmnetRangeError(`message of ${len} bytes exceeds maxMessageSize ${this.maxMessageSize}`, codes.MESSAGE_TOO_LARGE);
    }
    frame[0] = len >>> 24;
    frame[1] = len >>> 16;
    frame[2] = len >>> 8;
    frame[3] = len;
    this.#sent++;
    let rest = frame;
    const lanes = this.#lanes;
    if (lanes !== null && this.#batch === null) {
      const placed = this.#sendLane(lanes, frame);
      if (placed === frame.length) return !this.#needDrain;
      // The rest of a frame that met a full ring goes the stream's way, after the claim.
      if (placed > 0) rest = frame.subarray(placed);
    }
    if (rest.length >= DIRECT_MIN) {
      // Large: write it as it is, and let msgpackr pack into a new buffer so
      // it never writes over bytes the stream still holds.
      this.#packr.useBuffer(Buffer.allocUnsafeSlow(PACK_BUFFER_SIZE));
      this.#flush();
      if (!s.write(rest)) this.#needDrain = true;
      return !this.#needDrain;
    }
    return this.#queueBatch(rest);
  }

  /** Copies bytes of frames into the send batch (flushed on the next tick or when full). */
  #queueBatch(frame: Buffer): boolean {
    let batch = this.#batch;
    if (batch !== null && this.#pos + frame.length > batch.length) {
      this.#flush();
      batch = null;
    }
    if (batch === null) batch = this.#batch = this.#spare.pop() ?? Buffer.allocUnsafeSlow(BATCH_SIZE);
    batch.set(frame, this.#pos);
    this.#pos += frame.length;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      process.nextTick(this.#flushTick);
    }
    return !this.#needDrain;
  }

  /** Flushes queued messages, then ends the stream (the peer gets 'end'). */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#flush();
    this.#stream.end();
  }

  /** Destroys the stream underneath. */
  destroy(err?: Error): void {
    this.#batch = null;
    this.#pos = 0;
    this.#stream.destroy(err);
  }

  /** Stops 'message' events (and reading) until `resume()`. */
  pause(): this {
    this.#paused = true;
    this.#stream.pause();
    return this;
  }

  resume(): this {
    if (!this.#paused) return this;
    this.#paused = false;
    const rest = this.#rest;
    if (rest !== null) {
      this.#rest = null;
      this.#parse(rest, this.#restPos);
    }
    if (this.#paused || this.#failed) return this;
    if (this.#endPending) {
      this.#endPending = false;
      this._onEnd();
    }
    this.#stream.resume();
    return this;
  }

  ref(): this {
    (this.#stream as Partial<Conn>).ref?.();
    return this;
  }

  unref(): this {
    (this.#stream as Partial<Conn>).unref?.();
    return this;
  }

  // ---- sending -----------------------------------------------------------------

  #flush(): void {
    if (this.#claim !== null) this.#commitLane();
    const batch = this.#batch;
    if (batch === null || this.#pos === 0) return;
    const chunk = batch.subarray(0, this.#pos);
    this.#batch = null;
    this.#pos = 0;
    const s = this.#stream;
    if (s.destroyed) return;
    const ok = this.#recycle
      ? s.write(chunk, () => {
          if (this.#spare.length < SPARE_BATCHES) this.#spare.push(batch);
        })
      : s.write(chunk);
    if (!ok) this.#needDrain = true;
  }

  /** @internal */
  _onDrain(): void {
    if (!this.#needDrain) return;
    this.#needDrain = false;
    this.emit('drain');
  }

  // ---- receiving ---------------------------------------------------------------

  /** @internal */
  _onData(chunk: Buffer): void {
    if (this.#failed) return;
    if (this.#rest !== null) {
      // Paused with a chunk half parsed, yet the stream delivered more.
      const rest = this.#rest.subarray(this.#restPos);
      this.#rest = Buffer.concat([rest, chunk]);
      this.#restPos = 0;
      return;
    }
    this.#parse(chunk, 0);
  }

  #parse(chunk: Buffer, p: number): void {
    const end = chunk.length;
    // A frame already under way.
    if (this.#headLen > 0 || this.#body !== null) {
      p = this.#continueFrame(chunk, p);
      if (p < 0) return;
    }
    const max = this.maxMessageSize;
    while (p < end) {
      if (this.#paused) {
        this.#rest = chunk;
        this.#restPos = p;
        return;
      }
      if (end - p < MESSAGE_HEADER_SIZE) {
        chunk.copy(this.#head, 0, p, end);
        this.#headLen = end - p;
        return;
      }
      const len = readLength(chunk, p);
      if (len > max || len === 0) {
        this.#fail(this.#lengthError(len));
        return;
      }
      const start = p + MESSAGE_HEADER_SIZE;
      if (end - start < len) {
        this.#startBody(len, chunk, start, end);
        return;
      }
      p = start + len;
      // Whole frame in this chunk: decode in place.
      if (!this.#deliver(chunk, start, p)) return;
    }
  }

  /** Carries on with a split header or body; returns where the chunk's next frame starts, or -1. */
  #continueFrame(chunk: Buffer, p: number): number {
    const end = chunk.length;
    if (this.#headLen > 0) {
      const need = MESSAGE_HEADER_SIZE - this.#headLen;
      const n = Math.min(need, end - p);
      chunk.copy(this.#head, this.#headLen, p, p + n);
      this.#headLen += n;
      p += n;
      if (this.#headLen < MESSAGE_HEADER_SIZE) return -1;
      this.#headLen = 0;
      const len = readLength(this.#head, 0);
      if (len > this.maxMessageSize || len === 0) {
        this.#fail(this.#lengthError(len));
        return -1;
      }
      if (end - p >= len) {
        const stop = p + len;
        return this.#deliver(chunk, p, stop) ? stop : -1;
      }
      this.#startBody(len, chunk, p, end);
      return -1;
    }
    const body = this.#body!;
    const n = Math.min(body.length - this.#bodyLen, end - p);
    chunk.copy(body, this.#bodyLen, p, p + n);
    this.#bodyLen += n;
    p += n;
    if (this.#bodyLen < body.length) return -1;
    this.#body = null;
    this.#bodyLen = 0;
    return this.#deliver(body, 0, body.length) ? p : -1;
  }

  #startBody(len: number, chunk: Buffer, start: number, end: number): void {
    // Exactly this frame's size, never more than maxMessageSize: a fresh
    // buffer, since decoded binary values may keep views into it.
    const body = Buffer.allocUnsafe(len);
    chunk.copy(body, 0, start, end);
    this.#body = body;
    this.#bodyLen = end - start;
  }

  /** Decodes one frame body and emits it; false if the stream was failed. */
  #deliver(buf: Buffer, start: number, end: number): boolean {
    let value: unknown;
    try {
      const w = this.#window;
      w.start = start;
      w.end = end;
      value = this.#unpackr.unpack(buf, w);
    } catch (err) {
      this.#fail(new ShmnetError(codes.MESSAGE_MALFORMED, `malformed message frame: ${(err as Error)?.message ?? String(err)}`, { cause: err }));
      return false;
    }
    this.#received++;
    this.emit('message', value);
    return !this.#failed;
  }

  #lengthError(len: number): ShmnetError {
    if (len === 0) return new ShmnetError(codes.MESSAGE_MALFORMED, 'malformed message frame: zero length');
    return new ShmnetError(codes.MESSAGE_TOO_LARGE, `incoming message of ${len} bytes exceeds maxMessageSize ${this.maxMessageSize}`);
  }

  #fail(err: ShmnetError): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#body = null;
    this.#rest = null;
    this.#stream.destroy(err);
  }

  /** @internal */
  _onEnd(): void {
    if (this.#failed) return;
    if (this.#rest !== null) {
      this.#endPending = true;
      return;
    }
    if (this.#headLen > 0 || this.#body !== null) {
      this.#fail(new ShmnetError(codes.MESSAGE_MALFORMED, 'the stream ended inside a message frame'));
      return;
    }
    this.emit('end');
  }

  /** @internal */
  _onClose(): void {
    const s = this.#stream;
    s.off('data', streamOnData);
    s.off('end', streamOnEnd);
    s.off('drain', streamOnDrain);
    s.off('error', streamOnError);
    s.off('close', streamOnClose);
    s.off('connect', streamOnConnect);
    delete s[kOwner];
    this.#claim = null;
    this.#batch = null;
    this.#spare = [];
    this.emit('close');
  }
}
