/**
 * `MessageConn`: JavaScript values over a byte stream, for RPC. Each value
 * is one MessagePack value behind its length, the same framing as the
 * handshake (../handshake/frames.ts):
 *
 * ```
 *  0               4                                  4 + N
 *  +-+-------------+----------------------------------+-----------
 *  |R| N (31 bits) | N bytes: one MessagePack value   | next frame
 *  +-+-------------+----------------------------------+-----------
 *   R: packed with records (codec.ts); N: uint32 big-endian without R
 * ```
 *
 * The value is a map-mode MessagePack value, or (`records: true`) one of
 * msgpackr's sequential records; codec.ts owns both encodings and what a
 * records receiver keeps.
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
 * a batch leaves through the Conn's zero-copy lanes (../stream/conn.ts)
 * instead of a stream write: it is copied into claimed views of the TX
 * ring and committed (one copy, as a stream write would make, without
 * the Writable's queue and callbacks), and the batch buffer is reused at
 * once. What does not fit (the ring is full), or arrives while stream
 * writes are pending, is written to the stream as above, so the order
 * holds and backpressure is the stream's.
 *
 * Each frame is not packed or copied into the ring by itself: the ring is
 * a SharedArrayBuffer, whose copies V8 makes with relaxed atomic stores,
 * and a 42-byte `set()` into one costs about twice one into a Buffer: in
 * one-way runs of 64-byte objects in records mode, a claim and a copy per
 * frame reached about 0.8× the messages/s of one copy per batch. msgpackr
 * cannot pack into the ring either: it aligns where each value starts and
 * reallocates near the end of its buffer.
 *
 * Receiving stays on 'data' (decoded in place from the pushed chunk, as
 * above): the chunk is a fresh Buffer the decoded values may keep views
 * into, which borrowed ring bytes could not be.
 *
 * Stream listeners are module-level functions that find their owner
 * through a symbol, so no closure is created per connection.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { type Packr, type Unpackr, RESERVE_START_SPACE, RESET_BUFFER_MODE } from 'msgpackr';
import { codes, invalidArg, outOfRange, ShmnetError, ShmnetRangeError } from '../errors.js';
import { Conn } from '../stream/conn.js';
import { createMapUnpackr, createPackr, createRecordsUnpackr, LENGTH_MASK, RECORDS_FLAG } from './codec.js';

/** Bytes of the big-endian length prefix. */
export const MESSAGE_HEADER_SIZE = 4;
/** Default limit on one message's encoded size. */
export const DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;
/** Largest `maxMessageSize` accepted (below RECORDS_FLAG, which shares the length prefix). */
export const MAX_MESSAGE_SIZE_LIMIT = 1024 * 1024 * 1024;
/** Size of a send batch. */
const BATCH_SIZE = 64 * 1024;
/** A batch buffer's room: BATCH_SIZE after the up to 7 bytes that align its start with the ring (see #flush). */
const BATCH_ALLOC = BATCH_SIZE + 8;
/**
 * Map frames shorter than this are decoded from a subarray of their own:
 * msgpackr reads short strings in JavaScript only when its source ends
 * before byte 140, and otherwise calls its native string extractor (when
 * installed) once per frame, which for a 68-byte frame costs more than the
 * subarray (unpack of a 64-byte object: 500 against 590 ns). Records
 * frames hold fewer strings and decode faster in place (250 against 330).
 */
const OWN_VIEW_MAX = 140;
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
  /**
   * Pack objects as msgpackr sequential records (codec.ts): each shape's
   * keys cross once, later objects of that shape carry values only.
   * Default false. Both ends must agree: a MessageConn without it refuses a
   * records frame (`SHMNET_ERR_MESSAGE_MALFORMED`). Values arrive as in
   * map mode (a `Map` as a plain object).
   */
  records?: boolean;
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


/** The whole length prefix at `p`: RECORDS_FLAG and the length. */
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
  /** Objects are sent as records (see codec.ts); records frames are accepted. */
  readonly records: boolean;
  readonly #stream: OwnedStream;
  /** Replaced in records mode whenever a packed frame is not sent (its definitions never reach the peer). */
  #packr: Packr;
  readonly #flag: number;
  readonly #mapUnpackr = createMapUnpackr();
  readonly #recordsUnpackr: Unpackr | null;

  /** Reused for every in-place decode. */
  readonly #window = { start: 0, end: 0 };
  /** Batches can be reused after their write completes (the stream copies them). */
  readonly #recycle: boolean;

  // ---- send state
  #batch: Buffer | null = null;
  /** Where the current batch's bytes start and end in #batch. */
  #start = 0;
  #pos = 0;
  /**
   * Where in its 8-byte word the next claim of the TX ring will start: a
   * batch starts at the same place in its buffer, so the copy into the
   * ring is word-aligned on both sides (V8 copies into a
   * SharedArrayBuffer byte by byte otherwise; see ../ring/ring.ts).
   */
  #ringAlign = 0;
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
  /** A frame body split across chunks, how much of it has arrived, and whether it is a records frame. */
  #body: Buffer | null = null;
  #bodyLen = 0;
  #bodyRecords = false;
  /** Rest of a chunk not yet parsed because 'message' handling paused us. */
  #rest: Buffer | null = null;
  #restPos = 0;
  #paused = false;
  #failed = false;
  /** The stream ended while a paused chunk was still unparsed. */
  #endPending = false;

  /** The Conn, once it runs over rings: batches go through its lanes (see "Over a ring"). */
  #lanes: Conn | null = null;

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
    const records = options?.records ?? false;
    if (typeof records !== 'boolean') throw invalidArg(`records must be a boolean, got ${String(records)}`);
    this.conn = conn;
    this.maxMessageSize = max;
    this.records = records;
    this.#packr = createPackr(records);
    this.#flag = records ? RECORDS_FLAG : 0;
    this.#recordsUnpackr = records ? createRecordsUnpackr() : null;
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

  /**
   * Copies `batch[start, end)` into claimed TX views and commits them;
   * returns where it stopped (the rest goes to the stream).
   */
  #copyToRing(conn: Conn, batch: Buffer, start: number, end: number): number {
    let off = start;
    while (off < end && conn.writableLength === 0) {
      let view: Uint8Array | null;
      try {
        view = conn.claim(end - off);
      } catch {
        break; // closed or ended meanwhile: the stream path reports it
      }
      if (view === null) break; // full: the stream write waits for space
      const k = view.length;
      view.set(batch.subarray(off, off + k));
      conn.commit(k);
      // The ring's data area and size are multiples of 8, so the next claim starts here (mod 8), wrapped or not.
      this.#ringAlign = (view.byteOffset + k) & 7;
      off += k;
    }
    return off;
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
    let frame: Buffer;
    try {
      frame = this.#packr.pack(value, PACK_OPTIONS);
    } catch (err) {
      this.#packNotSent();
      throw err;
    }
    const len = frame.length - MESSAGE_HEADER_SIZE;
    if (len > this.maxMessageSize) {
      if (frame.length >= DIRECT_MIN) this.#packr.useBuffer(Buffer.allocUnsafeSlow(PACK_BUFFER_SIZE));
      this.#packNotSent();
      throw new ShmnetRangeError(`message of ${len} bytes exceeds maxMessageSize ${this.maxMessageSize}`, codes.MESSAGE_TOO_LARGE);
    }
    frame[0] = (len >>> 24) | (this.#flag >>> 24);
    frame[1] = len >>> 16;
    frame[2] = len >>> 8;
    frame[3] = len;
    this.#sent++;
    if (frame.length >= DIRECT_MIN) {
      // Large: write it as it is, and let msgpackr pack into a new buffer so
      // it never writes over bytes the stream still holds.
      this.#packr.useBuffer(Buffer.allocUnsafeSlow(PACK_BUFFER_SIZE));
      this.#flush();
      if (!s.write(frame)) this.#needDrain = true;
      return !this.#needDrain;
    }
    return this.#queueBatch(frame);
  }

  /**
   * A packed frame is dropped. In records mode it may hold the definition
   * of a shape the packer now believes the peer knows, so the packer is
   * replaced: the next frames define their shapes again (a receiver takes
   * a redefinition of an id as it comes).
   */
  #packNotSent(): void {
    if (this.records) this.#packr = createPackr(true);
  }

  /** Copies bytes of frames into the send batch (flushed on the next tick or when full). */
  #queueBatch(frame: Buffer): boolean {
    let batch = this.#batch;
    if (batch !== null && this.#pos + frame.length > batch.length) {
      this.#flush();
      batch = null;
    }
    if (batch === null) {
      batch = this.#batch = this.#spare.pop() ?? Buffer.allocUnsafeSlow(BATCH_ALLOC);
      this.#start = this.#pos = this.#ringAlign;
    }
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
    this.#start = this.#pos = 0;
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
    const batch = this.#batch;
    const start = this.#start;
    const end = this.#pos;
    if (batch === null || end === start) return;
    this.#batch = null;
    this.#start = this.#pos = 0;
    const s = this.#stream;
    if (s.destroyed) return;
    const placed = this.#lanes === null ? start : this.#copyToRing(this.#lanes, batch, start, end);
    if (placed === end) {
      // All of it is in the ring: the buffer is free again.
      if (this.#spare.length < SPARE_BATCHES) this.#spare.push(batch);
      return;
    }
    const chunk = batch.subarray(placed, end);
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
      const word = readLength(chunk, p);
      const len = this.#frameLength(word);
      if (len < 0) return;
      const records = word !== len;
      const start = p + MESSAGE_HEADER_SIZE;
      if (end - start < len) {
        this.#startBody(len, records, chunk, start, end);
        return;
      }
      p = start + len;
      // Whole frame in this chunk: decode in place.
      if (!this.#deliver(chunk, start, p, records)) return;
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
      const word = readLength(this.#head, 0);
      const len = this.#frameLength(word);
      if (len < 0) return -1;
      const records = word !== len;
      if (end - p >= len) {
        const stop = p + len;
        return this.#deliver(chunk, p, stop, records) ? stop : -1;
      }
      this.#startBody(len, records, chunk, p, end);
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
    return this.#deliver(body, 0, body.length, this.#bodyRecords) ? p : -1;
  }

  #startBody(len: number, records: boolean, chunk: Buffer, start: number, end: number): void {
    // Exactly this frame's size, never more than maxMessageSize: a fresh
    // buffer, since decoded binary values may keep views into it.
    const body = Buffer.allocUnsafe(len);
    chunk.copy(body, 0, start, end);
    this.#body = body;
    this.#bodyLen = end - start;
    this.#bodyRecords = records;
  }

  /** Decodes one frame body (with the decoder its flag names) and emits it; false if the stream was failed. */
  #deliver(buf: Buffer, start: number, end: number, records: boolean): boolean {
    let value: unknown;
    try {
      if (!records && end - start < OWN_VIEW_MAX) {
        value = this.#mapUnpackr.unpack(buf.subarray(start, end));
      } else {
        const w = this.#window;
        w.start = start;
        w.end = end;
        value = (records ? this.#recordsUnpackr! : this.#mapUnpackr).unpack(buf, w);
      }
    } catch (err) {
      this.#fail(new ShmnetError(codes.MESSAGE_MALFORMED, `malformed message frame: ${(err as Error)?.message ?? String(err)}`, { cause: err }));
      return false;
    }
    this.#received++;
    this.emit('message', value);
    return !this.#failed;
  }

  /**
   * The body length a length prefix announces, or -1 once the stream is
   * failed: the length is refused before any of its bytes are awaited, and
   * so is a records frame this MessageConn did not opt into.
   */
  #frameLength(word: number): number {
    const len = word & LENGTH_MASK;
    if (len > this.maxMessageSize) {
      this.#fail(new ShmnetError(codes.MESSAGE_TOO_LARGE, `incoming message of ${len} bytes exceeds maxMessageSize ${this.maxMessageSize}`));
      return -1;
    }
    if (len === 0) {
      this.#fail(new ShmnetError(codes.MESSAGE_MALFORMED, 'malformed message frame: zero length'));
      return -1;
    }
    if (word !== len && this.#recordsUnpackr === null) {
      this.#fail(new ShmnetError(codes.MESSAGE_MALFORMED, 'malformed message frame: the peer sends records (create both MessageConns with records: true)'));
      return -1;
    }
    return len;
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
    this.#batch = null;
    this.#spare = [];
    this.emit('close');
  }
}
