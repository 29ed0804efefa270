/**
 * Length-prefixed msgpackr frames on a byte stream (the handshake's wire
 * format).
 *
 * ```
 *  0               4                                  4 + N
 *  +---------------+----------------------------------+---------------
 *  | N (uint32 BE) | N bytes: one MessagePack value   | next frame, or
 *  +---------------+----------------------------------+ data-phase bytes
 * ```
 *
 * The value is plain MessagePack: nil, bool, int, float, str, bin, array
 * and map (string keys). A decoded frame is always plain data — `null`,
 * booleans, numbers, strings, `Uint8Array`s, arrays and plain objects —
 * so a value msgpackr's extensions turn into anything else (`undefined`, a
 * Date, Set, Map, Error, RegExp, BigInt, another typed array, a
 * structured-clone reference) makes the frame malformed.
 *
 * Input is untrusted: every announced length is checked against the limit
 * before its bytes are awaited, so a peer can make the reader hold at most
 * `maxFrameSize + 4` bytes of an unfinished frame.
 */
import { Packr } from 'msgpackr';
import { codes, ShmnetError, ShmnetRangeError, invalidArg } from '../errors.js';

/** Default and usual limit on a frame's body, in bytes. */
export const DEFAULT_MAX_FRAME_SIZE = 16 * 1024;
/** Bytes of the big-endian length prefix. */
export const FRAME_HEADER_SIZE = 4;
/** Deepest nesting of arrays/maps a frame may carry. */
export const MAX_FRAME_DEPTH = 32;

/** What a frame can carry. */
export type FrameValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | FrameValue[]
  | { [key: string]: FrameValue };

export interface FrameReaderOptions {
  /** Largest accepted body length in bytes (default 16 KiB). */
  maxFrameSize?: number;
}

const packr = new Packr({
  useRecords: false,
  moreTypes: false,
  mapsAsObjects: true,
  structuredClone: false,
  bundleStrings: false,
  // bin values are copied out, so a decoded token never aliases a socket chunk
  copyBuffers: true,
  // exact for every safe integer; larger int64s round and fail the validators
  int64AsType: 'number',
});

const EMPTY = Buffer.alloc(0);

function handshakeError(message: string, cause?: unknown): ShmnetError {
  return new ShmnetError(codes.HANDSHAKE, `handshake frame: ${message}`, cause !== undefined ? { cause } : undefined);
}

/**
 * Returns why `value` is not plain frame data, or `undefined` when it is.
 * Bounded by MAX_FRAME_DEPTH, which also stops cycles.
 */
function notPlain(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return undefined;
    case 'object':
      break;
    default:
      return `a value of type ${typeof value} is not allowed`;
  }
  if (value === null || value instanceof Uint8Array) return undefined;
  if (depth >= MAX_FRAME_DEPTH) return `nested deeper than ${MAX_FRAME_DEPTH} levels`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const why = notPlain(value[i], depth + 1);
      if (why !== undefined) return why;
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return `a ${typeof name === 'string' ? name : 'non-plain object'} is not allowed`;
  }
  for (const key of Object.keys(value)) {
    const why = notPlain((value as Record<string, unknown>)[key], depth + 1);
    if (why !== undefined) return why;
  }
  return undefined;
}

function checkMaxFrameSize(n: unknown): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1 || n > 0xffffffff) {
    throw invalidArg(`maxFrameSize must be an integer between 1 and 2^32-1, got ${String(n)}`);
  }
  return n;
}

/**
 * Encodes `value` as one frame (length prefix included).
 *
 * @throws ShmnetTypeError `SHMNET_ERR_INVALID_ARG` when `value` is not plain
 *   frame data; ShmnetRangeError `SHMNET_ERR_MESSAGE_TOO_LARGE` when the
 *   body would exceed `maxFrameSize`.
 */
export function encodeFrame(value: unknown, maxFrameSize: number = DEFAULT_MAX_FRAME_SIZE): Buffer {
  checkMaxFrameSize(maxFrameSize);
  const why = notPlain(value, 0);
  if (why !== undefined) throw invalidArg(`cannot encode frame: ${why}`);
  const body = packr.pack(value);
  if (body.length > maxFrameSize) {
    throw new ShmnetRangeError(
      `frame body of ${body.length} bytes exceeds the limit of ${maxFrameSize} bytes`,
      codes.MESSAGE_TOO_LARGE,
    );
  }
  // Packr reuses its output buffer; copy into a frame of our own.
  const frame = Buffer.allocUnsafe(FRAME_HEADER_SIZE + body.length);
  frame.writeUInt32BE(body.length, 0);
  frame.set(body, FRAME_HEADER_SIZE);
  return frame;
}

/**
 * Decodes one frame body. Anything but exactly one plain value filling the
 * body is malformed.
 */
function decodeBody(body: Buffer): FrameValue {
  let value: unknown;
  try {
    // unpack() throws when bytes are left after the value.
    value = packr.unpack(body);
  } catch (err) {
    throw handshakeError('malformed MessagePack', err);
  }
  const why = notPlain(value, 0);
  if (why !== undefined) throw handshakeError(`malformed value: ${why}`);
  return value as FrameValue;
}

/**
 * Splits a byte stream into frames.
 *
 * Feed it with `push()`, then call `next()` while a frame is expected. Once
 * the last frame of the exchange has been taken, `takeRest()` hands back the
 * bytes that followed it — the first bytes of the data phase — exactly once.
 *
 * Bytes are only ever inspected as a frame when the caller waits for one:
 * before the first frame, and after a `next()` that returned `undefined`.
 * Then `push()` checks the pending length prefix at once, so an unfinished
 * frame never holds more than `maxFrameSize + 4` bytes. After `next()` has
 * returned a frame, pushed bytes are kept unexamined until the next `next()`
 * — so data-phase bytes that arrive before `takeRest()` are never mistaken
 * for a frame.
 *
 * Pushed chunks are kept by reference until consumed; don't reuse them.
 * Any error is sticky: the reader drops its bytes and every later call
 * throws the same error.
 */
export class FrameReader {
  readonly maxFrameSize: number;
  #chunks: Buffer[] = [];
  /** Bytes of `#chunks[0]` already consumed. */
  #offset = 0;
  /** Unconsumed bytes across `#chunks`. */
  #buffered = 0;
  #error: ShmnetError | undefined;
  /** The caller is waiting for a frame: check its prefix as bytes arrive. */
  #waiting = true;

  constructor(options: FrameReaderOptions = {}) {
    this.maxFrameSize = checkMaxFrameSize(options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE);
  }

  /** Bytes held and not yet returned by `next()` or `takeRest()`. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /**
   * Appends bytes. While a frame is awaited, throws `SHMNET_ERR_HANDSHAKE`
   * as soon as its (possibly partial) length prefix shows it is empty or
   * longer than `maxFrameSize`.
   */
  push(chunk: Uint8Array): void {
    if (this.#error) throw this.#error;
    if (!(chunk instanceof Uint8Array)) throw invalidArg('FrameReader.push() expects a Buffer or Uint8Array');
    if (chunk.length === 0) return;
    this.#chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    this.#buffered += chunk.length;
    if (this.#waiting) this.#pendingLength();
  }

  /**
   * Returns the next complete frame's value, or `undefined` when its bytes
   * have not all arrived. Throws `SHMNET_ERR_HANDSHAKE` for a malformed frame.
   */
  next(): FrameValue | undefined {
    if (this.#error) throw this.#error;
    this.#waiting = true;
    const length = this.#pendingLength();
    if (length < 0 || this.#buffered < FRAME_HEADER_SIZE + length) return undefined;
    this.#waiting = false;
    this.#skip(FRAME_HEADER_SIZE);
    const body = this.#take(length);
    try {
      return decodeBody(body);
    } catch (err) {
      throw this.#fail(err as ShmnetError);
    }
  }

  /**
   * Removes and returns every byte after the frames taken so far (may share
   * memory with a pushed chunk).
   */
  takeRest(): Buffer {
    if (this.#error) throw this.#error;
    this.#waiting = false;
    return this.#take(this.#buffered);
  }

  /**
   * The pending frame's body length, or -1 while its prefix is incomplete.
   * Checks the limit on a partial prefix already: its known high bytes give
   * a lower bound.
   */
  #pendingLength(): number {
    const have = Math.min(this.#buffered, FRAME_HEADER_SIZE);
    if (have === 0) return -1;
    let length = 0;
    let chunk = 0;
    let pos = this.#offset;
    for (let i = 0; i < FRAME_HEADER_SIZE; i++) {
      let byte = 0;
      if (i < have) {
        while (pos >= this.#chunks[chunk]!.length) {
          chunk++;
          pos = 0;
        }
        byte = this.#chunks[chunk]![pos++]!;
      }
      length = length * 256 + byte;
    }
    if (length > this.maxFrameSize) {
      const what = have < FRAME_HEADER_SIZE ? `at least ${length}` : `${length}`;
      throw this.#fail(handshakeError(`announced length ${what} exceeds the limit of ${this.maxFrameSize} bytes`));
    }
    if (have < FRAME_HEADER_SIZE) return -1;
    if (length === 0) throw this.#fail(handshakeError('announced length 0'));
    return length;
  }

  #skip(n: number): void {
    this.#buffered -= n;
    while (n > 0) {
      const head = this.#chunks[0]!;
      const left = head.length - this.#offset;
      if (n < left) {
        this.#offset += n;
        return;
      }
      n -= left;
      this.#chunks.shift();
      this.#offset = 0;
    }
  }

  /** Removes `n` buffered bytes and returns them contiguously. */
  #take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const head = this.#chunks[0]!;
    if (head.length - this.#offset >= n) {
      const out = head.subarray(this.#offset, this.#offset + n);
      this.#skip(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.#chunks[0]!;
      const m = Math.min(c.length - this.#offset, n - filled);
      c.copy(out, filled, this.#offset, this.#offset + m);
      filled += m;
      this.#skip(m);
    }
    return out;
  }

  #fail(err: ShmnetError): ShmnetError {
    this.#error = err;
    this.#chunks = [];
    this.#offset = 0;
    this.#buffered = 0;
    return err;
  }
}
